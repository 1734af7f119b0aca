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
 *       since the retry consumer commits past held records;</li>
 *   <li>a stale delivery, at an attempt some worker already handed back ({@link HandedBackJobs}):
 *       ack, with no render and no announcement.</li>
 * </ul>
 * Each job runs on its own virtual thread. {@link InFlightLimiter} decides how many call the
 * provider at once, {@link FetchGate} how many records are fetched ahead of a slot; SmallRye's
 * cap ({@code KILN_WORKER_MAX_IN_FLIGHT}) is only the ceiling.
 */
@ApplicationScoped
public class RenderWorker {

    /** How long a job waits for the control tail to confirm it is not a stale delivery (normally milliseconds). */
    static final Duration HAND_BACK_CHECK = Duration.ofSeconds(30);
    /** How often that wait looks whether a shutdown began. */
    private static final Duration HAND_BACK_SLICE = Duration.ofMillis(200);

    private final RenderJobProcessor processor;
    private final RetryJitter jitter;
    private final GracefulShutdown shutdown;
    private final InFlightJobs inFlight;
    private final JobPublisher jobs;
    private final RetryPolicy policy;
    private final ControlPublisher control;
    private final HandedBackJobs handedBack;

    public RenderWorker(RenderJobProcessor processor, RetryJitter jitter, GracefulShutdown shutdown,
                        InFlightJobs inFlight, JobPublisher jobs, RetryPolicy policy, ControlPublisher control,
                        HandedBackJobs handedBack) {
        this.processor = processor;
        this.jitter = jitter;
        this.shutdown = shutdown;
        this.inFlight = inFlight;
        this.jobs = jobs;
        this.policy = policy;
        this.control = control;
        this.handedBack = handedBack;
    }

    /** Renders one delivered job. */
    @Incoming(Topics.JOBS_IN)
    @RunOnVirtualThread
    @dev.kiln.messaging.TracedRecord
    public CompletionStage<Void> render(Message<RenderJobRequested> message) {
        long arrived = System.nanoTime();
        // Counted in hand since the connector handed it over (JobHandOver): the fetch gate bounds these.
        try {
            return handle(message, message.getMetadata(IncomingKafkaRecordMetadata.class).orElseThrow(), arrived);
        } finally {
            inFlight.left();
        }
    }

    private CompletionStage<Void> handle(Message<RenderJobRequested> message, IncomingKafkaRecordMetadata<?, ?> record,
                                         long arrived) {
        // SmallRye counts redeliveries from the retry topics in a header; the job itself still
        // says attempt 1, as it was published.
        int retries = KafkaDelayedRetryTopic.getRetryHeader(record.getHeaders());
        RenderJobRequested job = message.getPayload().withAttempt(message.getPayload().attempt() + retries);
        boolean fromRetryTopic = retries > 0;
        try {
            switch (handBackCheck(job, arrived)) {
                case STALE -> {
                    // Its next attempt is the dispatcher's already; the worker that handed it back
                    // stopped before its ack. Acknowledged, so the partition moves on; nothing is
                    // announced, since the status topic already says queued at the next attempt.
                    Log.infof("job %s: skipping a stale delivery at attempt %d, a later attempt was handed back to the dispatcher already",
                            job.jobId(), job.attempt());
                    return message.ack();
                }
                case SHUTTING_DOWN -> {
                    return settle(message, job, fromRetryTopic,
                            new JobOutcome.LeftForRedelivery("shutdown began during the hand-back check"));
                }
                case CURRENT -> {
                }
            }
            return settle(message, job, fromRetryTopic, run(job, record.getTopic(), fromRetryTopic));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return settle(message, job, fromRetryTopic, new JobOutcome.LeftForRedelivery("interrupted"));
        }
    }

    /** What {@link #handBackCheck} found. */
    private enum HandBack { CURRENT, STALE, SHUTTING_DOWN }

    /**
     * Whether this delivery is a leftover of a worker that stopped between {@link #requeue}'s
     * command and its ack (see {@link HandedBackJobs} for why the check is sound). The wait is for
     * the control tail to read up to the moment the job arrived: milliseconds while Kafka
     * answers. Should it not answer within {@link #HAND_BACK_CHECK}, the job goes on as before
     * (a stale delivery is then only paid again if its render overlaps its successor's); the
     * job's own announcements wait for Kafka anyway.
     */
    private HandBack handBackCheck(RenderJobRequested job, long arrived) throws InterruptedException {
        long deadline = arrived + HAND_BACK_CHECK.toNanos();
        while (!handedBack.awaitReadUpTo(arrived, HAND_BACK_SLICE)) {
            if (shutdown.isDraining()) {
                return HandBack.SHUTTING_DOWN;
            }
            if (System.nanoTime() - deadline > 0) {
                Log.warnf("job %s: could not read %s's hand-backs within %s; rendering without that check",
                        job.jobId(), Topics.CONTROL, HAND_BACK_CHECK);
                return HandBack.CURRENT;
            }
        }
        return handedBack.supersedes(job) ? HandBack.STALE : HandBack.CURRENT;
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
     * command and the ack, the job is delivered again at this attempt while the dispatcher
     * releases the next one: the redelivery finds the command in {@link HandedBackJobs} and is
     * skipped before any permit or provider call (see {@link #handBackCheck}), so the attempt is not
     * rendered, nor paid, twice.
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
