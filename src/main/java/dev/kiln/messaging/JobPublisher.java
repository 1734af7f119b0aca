package dev.kiln.messaging;

import dev.kiln.job.EventTypes;
import dev.kiln.job.RenderJobRequested;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;


/**
 * Publishes render commands on {@code kiln.jobs}, keyed by job id so that one batch spreads over
 * every partition and so over every worker.
 */
@ApplicationScoped
public class JobPublisher {

    private final MutinyEmitter<RenderJobRequested> emitter;

    public JobPublisher(@Channel(Topics.JOBS_OUT) @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 4096)
                        MutinyEmitter<RenderJobRequested> emitter) {
        this.emitter = emitter;
    }

    /** Sends one job; completes when Kafka (acks=all) holds it. */
    public Uni<Void> publish(RenderJobRequested job) {
        return emitter.sendMessage(KafkaMessages.of(job, job.jobId(), job.jobId() + "/" + job.attempt(),
                EventTypes.JOB_REQUESTED, job.jobId()));
    }
}
