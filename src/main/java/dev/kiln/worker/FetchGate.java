package dev.kiln.worker;

import dev.kiln.config.KilnConfig;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import io.smallrye.reactive.messaging.kafka.KafkaConsumer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Fetches as many jobs as the in-flight target needs, and no more. SmallRye's
 * {@code max-concurrency} and {@code max.poll.records} are fixed at start-up, so they are set to
 * the ceiling ({@code KILN_WORKER_MAX_IN_FLIGHT}) and a small batch; this gate pauses the
 * {@code jobs} consumer while more jobs wait for a slot ({@link InFlightLimiter#waiting()}) than
 * {@link InFlightTarget#fetchAhead()} (two seconds of this worker's calls, at least 4), and
 * resumes it once they have dropped below half of that. Checked every 100 ms.
 *
 * <p>So a worker holds at most: the target's slots, the jobs after their call (checked and
 * stored), the fetch-ahead, and what one poll brought after the pause (up to
 * {@code max.poll.records}). That keeps every held job's wait for a slot to a few seconds, far
 * below {@code throttled.unprocessed-record-max-age.ms}, and a slow rate does not hold hundreds
 * of jobs away from the other workers. Pausing is the same call {@link GracefulShutdown} makes;
 * the gate never resumes a consumer once the worker is stopping.
 */
@ApplicationScoped
public class FetchGate {

    private static final long PERIOD_MILLIS = 100;

    private final KafkaClientService kafka;
    private final InFlightLimiter limiter;
    private final InFlightTarget target;
    private final GracefulShutdown shutdown;
    private final KilnConfig kiln;
    private volatile boolean paused;
    private ScheduledExecutorService ticker;

    public FetchGate(KafkaClientService kafka, InFlightLimiter limiter, InFlightTarget target, GracefulShutdown shutdown,
                     KilnConfig kiln) {
        this.kafka = kafka;
        this.limiter = limiter;
        this.target = target;
        this.shutdown = shutdown;
        this.kiln = kiln;
    }

    void start(@Observes StartupEvent event) {
        if (!kiln.parsedRole().runsWorker()) {
            return;
        }
        ticker = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("kiln-fetch-gate").factory());
        ticker.scheduleWithFixedDelay(this::check, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (ticker != null) {
            ticker.shutdownNow();
        }
    }

    /** Whether the gate holds the consumer paused now. */
    public boolean isPaused() {
        return paused;
    }

    private void check() {
        try {
            if (shutdown.isDraining()) {
                return;
            }
            int waiting = limiter.waiting();
            int ahead = target.fetchAhead();
            if (waiting > ahead) {
                // Again on every tick while paused: a rebalance, or SmallRye's own queue-based
                // resume, may have resumed partitions; pausing paused partitions does nothing.
                setPaused(true);
            } else if (paused && waiting <= ahead / 2) {
                setPaused(false);
            }
        } catch (RuntimeException e) {
            Log.debugf("fetch gate: %s", e.toString());
        }
    }

    private void setPaused(boolean pause) {
        List<KafkaConsumer<Object, Object>> consumers = kafka.getConsumers(Topics.JOBS_IN);
        for (KafkaConsumer<Object, Object> consumer : consumers) {
            if (pause) {
                consumer.pause().await().atMost(Duration.ofSeconds(5));
            } else {
                consumer.resume().await().atMost(Duration.ofSeconds(5));
            }
        }
        if (!pause && shutdown.isDraining()) {
            // The shutdown's pause may have come between the check and this resume.
            consumers.forEach(c -> c.pause().await().atMost(Duration.ofSeconds(5)));
        }
        if (paused != pause) {
            Log.debugf("fetch gate: %s fetching (%d jobs wait for a slot, fetch-ahead %d)", pause ? "paused" : "resumed",
                    limiter.waiting(), target.fetchAhead());
        }
        paused = pause;
    }
}
