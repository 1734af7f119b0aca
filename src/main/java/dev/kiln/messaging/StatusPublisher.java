package dev.kiln.messaging;

import dev.kiln.job.BatchCreated;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobStatusChanged;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;

import java.util.UUID;

/**
 * Publishes state changes on {@code kiln.status}, keyed by batch id so that one batch's events
 * stay in order on one partition. Every send completes only once Kafka has acknowledged it.
 */
@ApplicationScoped
public class StatusPublisher {

    private final MutinyEmitter<Object> emitter;

    public StatusPublisher(@Channel(Topics.STATUS_OUT) @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 4096)
                           MutinyEmitter<Object> emitter) {
        this.emitter = emitter;
    }

    /** Announces a batch; completes when Kafka holds the event. */
    public Uni<Void> batchCreated(BatchCreated event) {
        return send(event.batchId(), event.batchId(), EventTypes.BATCH_CREATED, event);
    }

    /** Announces a job's state change; completes when Kafka holds the event. */
    public Uni<Void> jobChanged(JobStatusChanged event) {
        return send(event.batchId(), event.jobId(), event.eventType(), event);
    }

    /** {@link #jobChanged} for callers on a worker (virtual) thread. */
    public void jobChangedAndWait(JobStatusChanged event) {
        jobChanged(event).await().indefinitely();
    }

    private Uni<Void> send(String key, String subject, String type, Object payload) {
        return emitter.sendMessage(KafkaMessages.of(payload, key, UUID.randomUUID().toString(), type, subject));
    }
}
