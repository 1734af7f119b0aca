package dev.kiln.batch;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.BatchLookup;
import dev.kiln.job.BatchState;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.ConflictException;
import dev.kiln.job.JobState;
import dev.kiln.job.NotFoundException;
import dev.kiln.tenant.CurrentTenant;
import dev.kiln.job.RetryRequested;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.messaging.ControlPublisher;
import dev.kiln.messaging.TransactionalPublisher;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Cancel and retry of batches and jobs. The status view (through {@link BatchLookup}) decides
 * whether the request fits the state (else 409); the command then goes on {@code kiln.control},
 * where the dispatcher ends or re-queues pending work and the workers skip cancelled jobs they
 * have not started.
 */
@ApplicationScoped
public class BatchControl {

    /** Job ids per retry command, so that one record stays well below Kafka's 1 MB. */
    static final int RETRY_IDS_PER_COMMAND = 10_000;
    private static final Duration RETRY_AFTER = Duration.ofSeconds(5);

    private final BatchLookup lookup;
    private final ControlPublisher control;
    private final CurrentTenant caller;

    public BatchControl(BatchLookup lookup, ControlPublisher control, CurrentTenant caller) {
        this.lookup = lookup;
        this.control = control;
        this.caller = caller;
    }

    /** What a command answered. */
    public record Accepted(String batchId, String jobId, String command, int jobs, boolean noOp) {
    }

    /** Cancels what has not started of a batch; a cancelled batch is a no-op. */
    public Accepted cancelBatch(String batchId) {
        BatchLookup.KnownBatch batch = batch(batchId);
        if (batch.state() == BatchState.CANCELLED) {
            return new Accepted(batchId, null, "cancel", 0, true);
        }
        if (batch.state().isTerminal()) {
            throw new ConflictException("batch-ended", "batch " + batchId + " already ended " + batch.state().wireName()
                    + "; only a queued or running batch can be cancelled");
        }
        send(List.of(CancelRequested.batch(batchId, batch.tenant(), Instant.now())));
        return new Accepted(batchId, null, "cancel", batch.items(), false);
    }

    /** Cancels one job unless it has ended; a cancelled job is a no-op. */
    public Accepted cancelJob(String jobId) {
        BatchLookup.KnownJob job = job(jobId);
        if (job.state() == JobState.CANCELLED) {
            return new Accepted(job.batchId(), jobId, "cancel", 0, true);
        }
        if (job.state().isTerminal()) {
            throw new ConflictException("job-ended", "job " + jobId + " already ended " + job.state().wireName());
        }
        BatchLookup.KnownBatch batch = batch(job.batchId());
        send(List.of(CancelRequested.job(job.batchId(), batch.tenant(), jobId, Instant.now())));
        return new Accepted(job.batchId(), jobId, "cancel", 1, false);
    }

    /** Sends the batch's failed and expired jobs back to queued with fresh attempts. */
    public Accepted retryBatch(String batchId) {
        BatchLookup.KnownBatch batch = batch(batchId);
        if (batch.state() == BatchState.CANCELLED) {
            throw new ConflictException("batch-cancelled", "batch " + batchId + " was cancelled; it is not retried");
        }
        List<String> ids = lookup.retryableJobIds(batchId);
        if (ids.isEmpty()) {
            throw new ConflictException("nothing-to-retry", "batch " + batchId + " has no failed or expired item");
        }
        Instant now = Instant.now();
        List<BatchCommand> commands = new ArrayList<>();
        for (int from = 0; from < ids.size(); from += RETRY_IDS_PER_COMMAND) {
            commands.add(RetryRequested.fresh(batchId, batch.tenant(),
                    ids.subList(from, Math.min(ids.size(), from + RETRY_IDS_PER_COMMAND)), now));
        }
        send(commands);
        return new Accepted(batchId, null, "retry", ids.size(), false);
    }

    /** Sends one failed or expired job back to queued with fresh attempts. */
    public Accepted retryJob(String jobId) {
        BatchLookup.KnownJob job = job(jobId);
        if (job.state() != JobState.FAILED && job.state() != JobState.EXPIRED) {
            throw new ConflictException("nothing-to-retry", "job " + jobId + " is " + job.state().wireName()
                    + "; only a failed or expired job can be retried");
        }
        BatchLookup.KnownBatch batch = batch(job.batchId());
        if (batch.state() == BatchState.CANCELLED) {
            throw new ConflictException("batch-cancelled", "batch " + job.batchId() + " was cancelled; it is not retried");
        }
        send(List.of(RetryRequested.fresh(job.batchId(), batch.tenant(), List.of(jobId), Instant.now())));
        return new Accepted(job.batchId(), jobId, "retry", 1, false);
    }

    /** The caller's batch: another tenant's answers the same 404 as a missing one. */
    private BatchLookup.KnownBatch batch(String batchId) {
        return lookup.find(batchId).filter(b -> caller.id().equals(b.tenant()))
                .orElseThrow(() -> new NotFoundException("batch", batchId));
    }

    /** The caller's job, checked through its batch's tenant. */
    private BatchLookup.KnownJob job(String jobId) {
        return lookup.findJob(jobId).filter(j -> lookup.find(j.batchId()).map(b -> caller.id().equals(b.tenant())).orElse(false))
                .orElseThrow(() -> new NotFoundException("job", jobId));
    }

    private void send(List<? extends BatchCommand> commands) {
        try {
            control.send(commands);
        } catch (TransactionalPublisher.TransactionFailedException e) {
            throw new ServiceUnavailableException("not-accepted", "Command not accepted",
                    "Kafka did not commit the command; nothing changed. Try again.", RETRY_AFTER);
        }
    }
}
