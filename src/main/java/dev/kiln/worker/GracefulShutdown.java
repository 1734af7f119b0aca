package dev.kiln.worker;

import dev.kiln.config.KilnConfig;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import io.smallrye.reactive.messaging.kafka.KafkaConsumer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.time.Duration;
import java.util.List;

/**
 * Lets a worker stop without losing or repeating work. On SIGTERM (Quarkus' {@link ShutdownEvent},
 * fired before SmallRye closes its Kafka clients) it pauses the {@code jobs} consumer, refuses to
 * start any further job, and waits until the renders already started have finished or
 * {@code kiln.worker.shutdown-deadline} has passed. A started job that is waiting (for a rate
 * permit, a 429, S3 or Kafka) gives up instead and ends {@link JobOutcome.LeftForRedelivery}.
 *
 * <p>A job left that way is held, never acknowledged: the throttled commit strategy
 * commits a partition only up to its first unacknowledged record, so the held job and everything
 * after it are delivered again to whichever worker owns the partition next (SmallRye's own
 * graceful shutdown of the channel is off: it would only wait for these held jobs). A render still
 * running at the deadline is left the same way; if it stored its images before the process
 * ended, the next delivery finds them and only re-announces the result.
 */
@ApplicationScoped
public class GracefulShutdown {

    private final KafkaClientService kafka;
    private final WorkerConfig config;
    private final KilnConfig kiln;
    private int inFlight;
    private boolean draining;

    public GracefulShutdown(KafkaClientService kafka, WorkerConfig config, KilnConfig kiln) {
        this.kafka = kafka;
        this.config = config;
        this.kiln = kiln;
    }

    /**
     * Registers the start of one job's processing.
     *
     * @return false once shutdown has begun: the caller must then leave the job for redelivery
     */
    public synchronized boolean tryStart() {
        if (draining) {
            return false;
        }
        inFlight++;
        return true;
    }

    /** Registers the end of a job started with {@link #tryStart()}, however it ended. */
    public synchronized void finished() {
        inFlight--;
        notifyAll();
    }

    /** Whether shutdown has begun: a job that has not called the provider yet should not. */
    public synchronized boolean isDraining() {
        return draining;
    }

    /**
     * Sleeps for {@code wait}, in slices of at most 200 ms, but returns as soon as shutdown
     * begins: a job waiting out a delay is not worth keeping the drain waiting for.
     *
     * @return true when the whole wait passed, false when shutdown cut it short
     */
    public boolean sleepUnlessDraining(Duration wait) throws InterruptedException {
        long end = System.nanoTime() + wait.toNanos();
        for (long left = wait.toNanos(); left > 0; left = end - System.nanoTime()) {
            if (isDraining()) {
                return false;
            }
            Thread.sleep(Duration.ofNanos(Math.min(left, 200_000_000L)));
        }
        return !isDraining();
    }

    /** From now on no job starts, and every wait gives up. */
    synchronized void beginDrain() {
        draining = true;
    }

    /** Jobs being processed right now. */
    public synchronized int inFlight() {
        return inFlight;
    }

    void onShutdown(@Observes ShutdownEvent event) throws InterruptedException {
        if (!kiln.parsedRole().runsWorker()) {
            return;
        }
        beginDrain();
        pauseFetching();
        long deadline = System.nanoTime() + config.shutdownDeadline().toNanos();
        int left = awaitIdle(deadline);
        if (left == 0) {
            Log.info("graceful shutdown: every started render has finished; unstarted jobs are left for redelivery");
        } else {
            Log.warnf("graceful shutdown: %d render(s) still running after %s; they are left uncommitted for redelivery",
                    left, config.shutdownDeadline());
        }
    }

    private synchronized int awaitIdle(long deadlineNanos) throws InterruptedException {
        Log.infof("graceful shutdown: stopped fetching jobs; waiting up to %s for %d render(s) in flight",
                config.shutdownDeadline(), inFlight);
        while (inFlight > 0) {
            long remaining = deadlineNanos - System.nanoTime();
            if (remaining <= 0) {
                break;
            }
            wait(Math.max(1, Duration.ofNanos(remaining).toMillis()));
        }
        return inFlight;
    }

    /** Best effort: a held job stays unacknowledged whether or not the pause takes. */
    private void pauseFetching() {
        try {
            List<KafkaConsumer<Object, Object>> consumers = kafka.getConsumers(Topics.JOBS_IN);
            for (KafkaConsumer<Object, Object> consumer : consumers) {
                consumer.pause().await().atMost(Duration.ofSeconds(5));
            }
        } catch (RuntimeException e) {
            Log.warnf("graceful shutdown: could not pause the jobs consumer (%s); jobs delivered now are held instead",
                    e.toString());
        }
    }
}
