package dev.kiln.messaging;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.CancelRequested;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;

/**
 * Publishes cancel and retry commands on {@code kiln.control}, keyed by batch id, in one
 * transaction per call: the dispatcher (exactly-once) and the workers' cancel tail read committed,
 * so a command the api answered 202 for is there, and one it answered 503 for is not.
 */
@ApplicationScoped
public class ControlPublisher {

    private final TransactionalPublisher transactions;

    public ControlPublisher(TransactionalPublisher transactions) {
        this.transactions = transactions;
    }

    /**
     * Sends {@code commands} together; returns once Kafka committed them.
     *
     * @throws TransactionalPublisher.TransactionFailedException when they were not committed
     */
    public void send(List<? extends BatchCommand> commands) {
        transactions.inTransaction(tx -> {
            for (BatchCommand command : commands) {
                String subject = command instanceof CancelRequested cancel && cancel.jobId() != null
                        ? cancel.jobId() : command.batchId();
                tx.send(Topics.CONTROL, command.batchId(), command, command.eventType(), subject);
            }
        });
    }
}
