package dev.kiln.worker;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** How one worker process renders. */
@ConfigMapping(prefix = "kiln.worker")
public interface WorkerConfig {

    /**
     * The most calls in flight at once in this process (env {@code KILN_WORKER_MAX_IN_FLIGHT}): a
     * ceiling, not a setting to tune. Below it the worker keeps what its share of the rate limits
     * needs at the latency it observes ({@link InFlightTarget}); 512 covers Tier 5 at high quality
     * (250 IPM × 120 s ≈ 500). A call in flight is a parked virtual thread and a socket.
     */
    @WithDefault("512")
    int maxInFlight();

    /** Tries per job for retryable errors (5xx, timeouts, malformed answers); 429s do not count. */
    @WithDefault("4")
    int maxAttempts();

    /**
     * How long a job waits after its round's first failed attempt (a 5xx, a timeout, a bad image)
     * before the dispatcher releases it again, ahead of fresh work (env
     * {@code KILN_WORKER_FIRST_RETRY_DELAY}). Short, so that a batch has no tail of retries: most
     * such faults are one call's bad luck. Later attempts wait the delays of
     * {@code kiln.topics.retry-topics} (10 s, 30 s, 90 s), so that an outage is not hammered.
     */
    @WithDefault("PT1S")
    Duration firstRetryDelay();

    /** Longest single wait after a 429 without retry-after, and the cap on any 429 wait. */
    @WithDefault("PT30S")
    Duration maxRateLimitWait();

    /**
     * Retries wait a further random part of their delay, up to this fraction of it (env
     * {@code KILN_WORKER_RETRY_JITTER}), so that jobs failed together do not return together.
     */
    @WithDefault("0.2")
    double retryJitter();

    /**
     * How long a worker asked to stop (SIGTERM) lets the renders it has started finish (env
     * {@code KILN_WORKER_SHUTDOWN_DEADLINE}). It stops fetching at once; renders still running at
     * the deadline are abandoned uncommitted, so Kafka delivers them again to another worker. Keep
     * the orchestrator's grace period (Kubernetes {@code terminationGracePeriodSeconds}) about 15 s
     * above it: Kafka's own close and commit come after the deadline.
     */
    @WithDefault("PT60S")
    Duration shutdownDeadline();

    /**
     * Where decoded images wait for upload: one folder per job id, removed once the images are
     * stored. A render that could not be stored before the worker stopped stays here, so the next
     * delivery of the job to this worker uploads it instead of paying for it again; keep it on a
     * volume that survives a container restart.
     */
    @WithDefault("${java.io.tmpdir}/kiln-work")
    String workDir();

    /** How long a render kept for a job that never came back to this worker stays on disk. */
    @WithDefault("P2D")
    Duration keptRenderRetention();

    /**
     * Waits between tries of a storage (or status) call that failed. Such a wait never spends an
     * attempt: the job keeps its slot and tries again for as long as it is held.
     */
    Backoff storageBackoff();

    /**
     * A job with no progress (no step begun) for this long is counted as stuck
     * ({@code kiln_worker_jobs_stuck}) and logged once. The default is above the longest legitimate
     * step: a high-quality call's timeout (6 min) plus the longest 429 wait.
     */
    @WithDefault("PT10M")
    Duration stuckAfter();

    /** Doubling waits between a first and a longest one. */
    interface Backoff {
        /** The first wait. */
        @WithDefault("PT1S")
        Duration initial();

        /** The longest wait; an outage of an hour is retried every this long. */
        @WithDefault("PT15S")
        Duration max();
    }
}
