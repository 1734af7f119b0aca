package dev.kiln.worker;

import dev.kiln.messaging.JobPublisher;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.Topics;
import io.smallrye.common.annotation.RunOnVirtualThread;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.fault.KafkaDelayedRetryTopic;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;

import java.time.Duration;

/**
 * The worker role's Kafka consumer. Each job runs on its own virtual thread; SmallRye caps how
 * many run at once ({@code KILN_WORKER_MAX_IN_FLIGHT}) and stops asking Kafka for more while
 * that many are in flight, so jobs are never buffered without bound. The offset of a job is
 * committed only after this method returns (every status event already acknowledged); a
 * {@link RetryLaterException} nacks it into the delayed-retry topics. Once shutdown has begun
 * ({@link GracefulShutdown}) a job not yet sent to the provider is left for another worker.
 */
@ApplicationScoped
public class RenderWorker {

    private final RenderJobProcessor processor;
    private final RetryJitter jitter;
    private final GracefulShutdown shutdown;
    private final JobPublisher jobs;

    public RenderWorker(RenderJobProcessor processor, RetryJitter jitter, GracefulShutdown shutdown, JobPublisher jobs) {
        this.processor = processor;
        this.jitter = jitter;
        this.shutdown = shutdown;
        this.jobs = jobs;
    }

    /** Renders one delivered job. */
    @Incoming(Topics.JOBS_IN)
    @RunOnVirtualThread
    @dev.kiln.messaging.TracedRecord
    public void render(RenderJobRequested job, IncomingKafkaRecordMetadata<String, RenderJobRequested> record)
            throws InterruptedException {
        // SmallRye counts redeliveries from the retry topics in a header; the job itself still
        // says attempt 1, as it was published.
        int retries = KafkaDelayedRetryTopic.getRetryHeader(record.getHeaders());
        RenderJobRequested attempt = job.withAttempt(job.attempt() + retries);
        boolean fromRetryTopic = retries > 0;
        if (fromRetryTopic) {
            // Before the job counts as started, so a shutdown never waits for a jitter.
            shutdown.sleepUnlessDraining(jitter.extraDelay(record.getTopic()));
        }
        if (!shutdown.tryStart()) {
            leave(attempt, fromRetryTopic);
            return;
        }
        boolean abandoned = false;
        try {
            processor.process(attempt);
        } catch (AbandonedAtShutdownException e) {
            abandoned = true;
        } finally {
            shutdown.finished();
        }
        if (abandoned) {
            leave(attempt, fromRetryTopic);
        }
    }

    /**
     * Leaves a job the stopping worker will not render for another worker. A job of
     * {@code kiln.jobs} is held unacknowledged: its partition's commit stops before it. SmallRye's
     * delayed-retry consumer commits the latest acknowledged offset instead, so holding would not
     * keep a retried job; it goes back to {@code kiln.jobs} with its attempt number, and its
     * retry record is acknowledged once Kafka holds the copy.
     */
    private void leave(RenderJobRequested job, boolean fromRetryTopic) throws InterruptedException {
        if (fromRetryTopic) {
            jobs.publish(job).await().atMost(Duration.ofSeconds(30));
            return;
        }
        shutdown.holdForRedelivery();
    }
}
