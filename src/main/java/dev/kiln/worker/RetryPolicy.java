package dev.kiln.worker;

import dev.kiln.job.JobError;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.TopicsConfig;
import dev.kiln.provider.ProviderFailure;
import dev.kiln.reference.ReferenceException;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one place that decides what a fault means for a job. Three kinds of fault, three answers:
 * <ul>
 *   <li>the job's own fault (a 400, a moderation refusal, a reference that will never work):
 *       {@link JobOutcome.Failed} at once;</li>
 *   <li>a fault of this attempt (a 5xx, a timeout, a malformed, truncated or wrong image, a
 *       reference host's hiccup): {@link JobOutcome.RetryLater} until the attempts run out, then
 *       {@link JobOutcome.Failed} with the last reason;</li>
 *   <li>a fault of the world around the job (a 429, a refused key, S3 or Kafka unreachable):
 *       wait, without spending an attempt, for as long as the job is held ({@link Decision}).</li>
 * </ul>
 * A job to retry goes back through the dispatcher ({@code RetryRequested} on {@code kiln.control}),
 * which holds it for the delay and then releases it ahead of fresh work. Attempts count per
 * round: a client's retry starts a fresh round at the next attempt number.
 */
@ApplicationScoped
public class RetryPolicy {

    /** Code of a fault nobody classified: a bug or an unforeseen failure. Retried like a 5xx. */
    public static final String WORKER_ERROR = "worker_error";

    private final WorkerConfig config;
    private final List<Duration> retryDelays;

    public RetryPolicy(WorkerConfig config, TopicsConfig topics) {
        this.config = config;
        this.retryDelays = topics.retryTopics().stream().map(RetryJitter::delayOf).toList();
    }

    /** What a provider failure leads to. */
    public Decision afterProviderFailure(RenderJobRequested job, ProviderFailure failure) {
        return switch (failure.kind()) {
            case REJECTED -> new Decision.Conclude(fail(failure.code(), failure.message()));
            case UNAUTHORIZED -> new Decision.AwaitKey(failure.message());
            case RATE_LIMITED -> new Decision.CallAgainAfter(rateLimitWait(failure));
            case TRANSIENT -> new Decision.Conclude(afterFailedAttempt(job, new JobError(failure.code(), failure.message(), true)));
        };
    }

    /** What a reference that could not be had leads to. */
    public JobOutcome afterReferenceFailure(RenderJobRequested job, ReferenceException e) {
        return e.retryable() ? afterFailedAttempt(job, new JobError(e.code(), e.getMessage(), true))
                : fail(e.code(), e.getMessage());
    }

    /** What an answer whose images are missing, wrong or cut short leads to: the provider's fault. */
    public JobOutcome afterWrongOutput(RenderJobRequested job, String code, String message) {
        return afterFailedAttempt(job, new JobError(code, message, true));
    }

    /** What a fault nobody foresaw leads to: another attempt, so that a bug never strands a job. */
    public JobOutcome afterUnexpected(RenderJobRequested job, Throwable e) {
        return afterFailedAttempt(job, new JobError(WORKER_ERROR, e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + e.getMessage()), true));
    }

    /**
     * How long to wait before the {@code failures}-th repeat of a storage or broker call: doubling
     * from {@code kiln.worker.storage-backoff.initial} up to {@code .max}, with up to 20 % random
     * extra so that the jobs of one worker do not knock at once when S3 comes back.
     */
    public Duration backoff(int failures) {
        long initial = config.storageBackoff().initial().toMillis();
        long max = config.storageBackoff().max().toMillis();
        long wait = initial << Math.min(Math.max(failures - 1, 0), 20);
        wait = Math.min(Math.max(wait, initial), max);
        return Duration.ofMillis(wait + ThreadLocalRandom.current().nextLong(wait / 5 + 1));
    }

    /**
     * An attempt failed in a way another may not: retry while the round has attempts left, else
     * fail with the reason. The first retry of a round comes after {@code kiln.worker.first-retry-delay}
     * (1 s), so that one call's bad luck leaves no tail at the end of a batch; the later ones after
     * the delays of the retry topics (10 s, 30 s, 90 s), growing, so that an outage is not hammered.
     * The dispatcher holds the job for that delay and then releases it ahead of fresh work.
     */
    JobOutcome afterFailedAttempt(RenderJobRequested job, JobError error) {
        int tried = job.attemptsInRound();
        if (tried >= config.maxAttempts()) {
            return fail(error.code(), error.message());
        }
        Duration delay = tried <= 1 || retryDelays.isEmpty() ? config.firstRetryDelay()
                : retryDelays.get(Math.min(tried - 2, retryDelays.size() - 1));
        return new JobOutcome.RetryLater(error, delay);
    }

    private Duration rateLimitWait(ProviderFailure failure) {
        Duration cap = config.maxRateLimitWait();
        Duration wait = failure.retryAfterHint().orElse(cap.dividedBy(6));
        wait = wait.compareTo(cap) > 0 ? cap : wait;
        return wait.plusMillis(ThreadLocalRandom.current().nextLong(250));
    }

    private static JobOutcome.Failed fail(String code, String message) {
        return new JobOutcome.Failed(new JobError(code, message, false));
    }

    /** What the processor does after a provider failure. */
    public sealed interface Decision {

        /** The job ends this delivery with {@code outcome}. */
        record Conclude(JobOutcome outcome) implements Decision {
        }

        /** 429: wait, then call again; no attempt is spent. */
        record CallAgainAfter(Duration delay) implements Decision {
        }

        /** 401/403: stop calling until the key works (a restart with a good key); fail nothing. */
        record AwaitKey(String reason) implements Decision {
        }
    }
}
