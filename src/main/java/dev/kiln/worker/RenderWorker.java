package dev.kiln.worker;

import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RetryRequested;
import dev.kiln.messaging.ControlPublisher;
import dev.kiln.messaging.JobPublisher;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.smallrye.common.annotation.RunOnVirtualThread;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.fault.KafkaDelayedRetryTopic;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The worker role's Kafka consumer, and the only place that turns a {@link JobOutcome} into what
 * Kafka sees:
 * <ul>
 *   <li>{@code Succeeded}, {@code Failed}: ack; the offset is committed;</li>
 *   <li>{@code RetryLater}: a {@code RetryRequested} with the next attempt on {@code kiln.control},
 *       then ack: the dispatcher holds the job for the retry's delay and releases it again ahead of
 *       fresh work, so a retried job neither waits behind the whole backlog nor bypasses the
 *       window and the fair share;</li>
 *   <li>{@code LeftForRedelivery}: hold, never ack, so that the commit stops before the job and
 *       Kafka delivers it again; a job from a retry topic is put back on {@code kiln.jobs} instead,
 *       since the retry consumer commits past held records.</li>
 * </ul>
 * Each job runs on its own virtual thread. {@link InFlightLimiter} decides how many call the
 * provider at once, {@link FetchGate} how many records are fetched ahead of a slot; SmallRye's
 * cap ({@code KILN_WORKER_MAX_IN_FLIGHT}) is only the ceiling.
 */
@ApplicationScoped
public class RenderWorker {

    private final RenderJobProcessor processor;
    private final RetryJitter jitter;
    private final GracefulShutdown shutdown;
    private final InFlightJobs inFlight;
    private final JobPublisher jobs;
    private final RetryPolicy policy;
    private final ControlPublisher control;

    public RenderWorker(RenderJobProcessor processor, RetryJitter jitter, GracefulShutdown shutdown,
                        InFlightJobs inFlight, JobPublisher jobs, RetryPolicy policy, ControlPublisher control) {
        this.processor = processor;
        this.jitter = jitter;
        this.shutdown = shutdown;
        this.inFlight = inFlight;
        this.jobs = jobs;
        this.policy = policy;
        this.control = control;
    }

    /** Renders one delivered job. */
    @Incoming(Topics.JOBS_IN)
    @RunOnVirtualThread
    @dev.kiln.messaging.TracedRecord
    public CompletionStage<Void> render(Message<RenderJobRequested> message) {
        // Counted in hand since the connector handed it over (JobHandOver): the fetch gate bounds these.
        try {
            return handle(message, message.getMetadata(IncomingKafkaRecordMetadata.class).orElseThrow());
        } finally {
            inFlight.left();
        }
    }

    private CompletionStage<Void> handle(Message<RenderJobRequested> message, IncomingKafkaRecordMetadata<?, ?> record) {
        // SmallRye counts redeliveries from the retry topics in a header; the job itself still
        // says attempt 1, as it was published.
        int retries = KafkaDelayedRetryTopic.getRetryHeader(record.getHeaders());
        RenderJobRequested job = message.getPayload().withAttempt(message.getPayload().attempt() + retries);
        boolean fromRetryTopic = retries > 0;
        try {
            return settle(message, job, fromRetryTopic, run(job, record.getTopic(), fromRetryTopic));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return settle(message, job, fromRetryTopic, new JobOutcome.LeftForRedelivery("interrupted"));
        }
    }

    private JobOutcome run(RenderJobRequested job, String topic, boolean fromRetryTopic) throws InterruptedException {
        // Before the job counts as started, so a shutdown never waits for a jitter.
        if (fromRetryTopic && !shutdown.sleepUnlessDraining(jitter.extraDelay(topic))) {
            return new JobOutcome.LeftForRedelivery("shutdown began during the retry jitter");
        }
        if (!shutdown.tryStart()) {
            return new JobOutcome.LeftForRedelivery("shutdown began before the job started");
        }
        try {
            if (!inFlight.begin(job.jobId(), shutdown::isDraining)) {
                return new JobOutcome.LeftForRedelivery("another delivery of the job was still running at shutdown");
            }
            try {
                return processor.process(job);
            } finally {
                inFlight.end(job.jobId());
            }
        } finally {
            shutdown.finished();
        }
    }

    private CompletionStage<Void> settle(Message<RenderJobRequested> message, RenderJobRequested job,
                                         boolean fromRetryTopic, JobOutcome outcome) {
        return switch (outcome) {
            case JobOutcome.Succeeded s -> message.ack();
            case JobOutcome.Failed f -> message.ack();
            case JobOutcome.Cancelled c -> message.ack();
            case JobOutcome.HandedToLane h -> message.ack();
            case JobOutcome.RetryLater r -> requeue(message, job, r);
            case JobOutcome.LeftForRedelivery l -> fromRetryTopic ? putBack(message, job) : hold();
        };
    }

    /**
     * Hands the job back to the dispatcher at its next attempt, due after the policy's delay and a
     * jitter, then acks it. A command that Kafka does not take (the broker is away) is tried again
     * until it does; {@code queued} is announced already. Should the worker die between the
     * command and the ack, the redelivered job's own retry names the same attempt, which the
     * dispatcher ignores once it has released it.
     */
    private CompletionStage<Void> requeue(Message<RenderJobRequested> message, RenderJobRequested job, JobOutcome.RetryLater retry) {
        Instant now = Instant.now();
        RetryRequested command = RetryRequested.afterFailure(job.nextAttempt(), now.plus(jitter.spread(retry.delay())), now);
        for (int failures = 1; ; failures++) {
            try {
                control.send(List.of(command));
                return message.ack();
            } catch (RuntimeException e) {
                Log.warnf("job %s: handing it back to the dispatcher failed (try %d): %s", job.jobId(), failures, e.toString());
                try {
                    if (!shutdown.sleepUnlessDraining(policy.backoff(failures))) {
                        return hold();
                    }
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return hold();
                }
            }
        }
    }

    /** A retried job left at shutdown goes back to {@code kiln.jobs} with its attempt number. */
    private CompletionStage<Void> putBack(Message<RenderJobRequested> message, RenderJobRequested job) {
        try {
            jobs.publish(job).await().atMost(Duration.ofSeconds(30));
            return message.ack();
        } catch (RuntimeException e) {
            Log.warnf("job %s: could not put it back on kiln.jobs at shutdown (%s); its retry record stays unacknowledged",
                    job.jobId(), e.toString());
            return hold();
        }
    }

    /** Never completes: neither acknowledged nor nacked, the job is delivered again after a restart or rebalance. */
    private static CompletionStage<Void> hold() {
        return new CompletableFuture<>();
    }
}
