package dev.kiln.storage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether S3 is reachable, learnt from every call {@link ObjectStore} makes and, while no call
 * has succeeded lately, from a probe every {@code kiln.s3.health-interval}. An outage is logged
 * twice, once when it starts and once when it ends, never once per job; readiness
 * ({@link StorageReadinessCheck}) and intake (503 with {@code Retry-After}) read
 * {@link #isAvailable()}. Metrics: {@code kiln_storage_errors_total{operation}},
 * {@code kiln_storage_retries_total} and {@code kiln_storage_available}.
 */
@ApplicationScoped
public class StorageHealth {

    private final MeterRegistry registry;
    private final S3Config config;
    private final Counter retries;
    private final AtomicLong failedCalls = new AtomicLong();
    private final AtomicLong failuresInARow = new AtomicLong();
    private volatile Instant outageSince;
    private volatile Instant lastSuccess = Instant.EPOCH;
    private volatile Thread prober;
    private ObjectStore store;

    public StorageHealth(MeterRegistry registry, S3Config config) {
        this.registry = registry;
        this.config = config;
        this.retries = Counter.builder("kiln.storage.retries")
                .description("Storage calls repeated after a failure (jobs waiting on S3 retry with backoff)")
                .register(registry);
        Gauge.builder("kiln.storage.available", this, h -> h.isAvailable() ? 1 : 0)
                .description("1 while S3 answers, 0 during an outage").register(registry);
    }

    /** Whether the last S3 call (or probe) succeeded. */
    public boolean isAvailable() {
        return outageSince == null;
    }

    /** When the current outage began, if S3 is unreachable. */
    public Optional<Instant> outageSince() {
        return Optional.ofNullable(outageSince);
    }

    /** A suggestion for clients told to come back later (a 503's {@code Retry-After}). */
    public Duration retryAfter() {
        return config.healthInterval().multipliedBy(2);
    }

    /** A call reached S3 and got an answer (a missing object included). */
    void succeeded() {
        lastSuccess = Instant.now();
        failuresInARow.set(0);
        if (outageSince == null) {
            return;
        }
        Instant began;
        long failed;
        synchronized (this) {
            began = outageSince;
            if (began == null) {
                return;
            }
            outageSince = null;
            failed = failedCalls.getAndSet(0);
        }
        Log.warnf("storage outage ended: S3 at %s answers again after %s (since %s); %d call(s) failed meanwhile",
                config.endpoint(), Duration.between(began, Instant.now()).withNanos(0), began, failed);
    }

    /**
     * A call failed without an answer from S3, or with an error S3 gave for the bucket itself. The
     * second failure in a row, with no success between, begins an outage.
     */
    void failed(String operation, Exception cause) {
        Counter.builder("kiln.storage.errors").description("Failed storage calls, by operation")
                .tag("operation", operation.toLowerCase(Locale.ROOT)).register(registry).increment();
        failedCalls.incrementAndGet();
        // One failure between successes (a stale pooled connection) is no outage; two in a row are.
        if (failuresInARow.incrementAndGet() < 2 || outageSince != null) {
            return;
        }
        synchronized (this) {
            if (outageSince != null) {
                return;
            }
            outageSince = Instant.now();
        }
        Log.warnf("storage outage began: S3 at %s failed a %s call (%s); jobs wait for it without spending attempts",
                config.endpoint(), operation, rootMessage(cause));
    }

    /** A caller is about to repeat a failed storage call. */
    public void retried() {
        retries.increment();
    }

    void start(@Observes StartupEvent event, ObjectStore objects) {
        this.store = objects;
        prober = Thread.ofVirtual().name("kiln-storage-probe").start(this::probeLoop);
    }

    void stop(@Observes ShutdownEvent event) {
        Thread running = prober;
        if (running != null) {
            running.interrupt();
        }
    }

    private void probeLoop() {
        Duration interval = config.healthInterval();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(interval);
                boolean recent = Duration.between(lastSuccess, Instant.now()).compareTo(interval) < 0;
                if (!recent || !isAvailable()) {
                    store.probe();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // recorded by the store; the loop goes on until shutdown
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
    }
}
