package dev.kiln.batch;

import dev.kiln.job.EventTypes;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.Topics;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.ce.OutgoingCloudEventMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;

import java.net.URI;

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
        Message<RenderJobRequested> message = Message.of(job)
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(job.jobId()).build())
                .addMetadata(OutgoingCloudEventMetadata.builder()
                        .withId(job.jobId() + "/" + job.attempt())
                        .withSource(URI.create(EventTypes.SOURCE))
                        .withType(EventTypes.JOB_REQUESTED)
                        .withSubject(job.jobId())
                        .build());
        return emitter.sendMessage(message);
    }
}
