package dev.kiln.worker;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** How one worker process renders. */
@ConfigMapping(prefix = "kiln.worker")
public interface WorkerConfig {

    /**
     * Calls in flight at once in this process (env {@code KILN_WORKER_MAX_IN_FLIGHT}). Calls
     * spend nearly all their time waiting on the provider, so this is far above the core count.
     */
    @WithDefault("16")
    int maxInFlight();

    /** Tries per job for retryable errors (5xx, timeouts, malformed answers); 429s do not count. */
    @WithDefault("4")
    int maxAttempts();

    /** Longest single wait after a 429 without retry-after, and the cap on any 429 wait. */
    @WithDefault("PT30S")
    Duration maxRateLimitWait();

    /**
     * Retries wait a further random part of their retry topic's delay, up to this fraction of it
     * (env {@code KILN_WORKER_RETRY_JITTER}), so that jobs failed together do not return together.
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

    /** Where decoded images wait for upload; one folder per job, removed afterwards. */
    @WithDefault("${java.io.tmpdir}/kiln-work")
    String workDir();
}
