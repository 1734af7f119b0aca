package dev.kiln.worker;

import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.Topics;
import io.smallrye.common.annotation.RunOnVirtualThread;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.fault.KafkaDelayedRetryTopic;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/**
 * The worker role's Kafka consumer. Each job runs on its own virtual thread; SmallRye caps how
 * many run at once ({@code KILN_WORKER_MAX_IN_FLIGHT}) and stops asking Kafka for more while
 * that many are in flight, so jobs are never buffered without bound. The offset of a job is
 * committed only after this method returns (every status event already acknowledged); a
 * {@link RetryLaterException} nacks it into the delayed-retry topics. Once shutdown has begun
 * ({@link GracefulShutdown}) a newly delivered job is held unacknowledged, for redelivery.
 */
@ApplicationScoped
public class RenderWorker {

    private final RenderJobProcessor processor;
    private final RetryJitter jitter;
    private final GracefulShutdown shutdown;

    public RenderWorker(RenderJobProcessor processor, RetryJitter jitter, GracefulShutdown shutdown) {
        this.processor = processor;
        this.jitter = jitter;
        this.shutdown = shutdown;
    }

    /** Renders one delivered job. */
    @Incoming(Topics.JOBS_IN)
    @RunOnVirtualThread
    public void render(RenderJobRequested job, IncomingKafkaRecordMetadata<String, RenderJobRequested> record)
            throws InterruptedException {
        // SmallRye counts redeliveries from the retry topics in a header; the job itself still
        // says attempt 1, as it was published.
        int retries = KafkaDelayedRetryTopic.getRetryHeader(record.getHeaders());
        if (retries > 0) {
            // Before the job counts as started, so a shutdown never waits for a jitter.
            Thread.sleep(jitter.extraDelay(record.getTopic()));
        }
        if (!shutdown.tryStart()) {
            shutdown.holdForRedelivery();
        }
        boolean abandoned = false;
        try {
            processor.process(job.withAttempt(job.attempt() + retries));
        } catch (AbandonedAtShutdownException e) {
            abandoned = true;
        } finally {
            shutdown.finished();
        }
        if (abandoned) {
            shutdown.holdForRedelivery();
        }
    }
}
