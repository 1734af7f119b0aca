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
 * the ceiling ({@code KILN_WORKER_MAX_IN_FLIGHT}) and a small batch (4); this gate pauses the
 * {@code jobs} consumer while the records in hand that have not had their slot yet reach
 * {@link InFlightTarget#fetchAhead(double)} (two seconds of this worker's calls, at least 4, plus
 * the calls of the time a job takes to reach its slot request, as S3 answers the look-ups before
 * it), and resumes it once they have dropped to half of that. Those records are: polled and still
 * in SmallRye's queue ({@link PolledJobs}), handed over ({@link InFlightJobs#inHand()}) but not
 * holding a slot ({@link InFlightLimiter#inUse()}) nor storing after their call; that is, waiting
 * for a slot or on their way to it.
 *
 * <p>Checked on the polling thread as each poll returns ({@link JobsPollInterceptor}), whenever a
 * record is handed over or a job joins or leaves the queue for a slot, and every 100 ms. A pause
 * asked for on the polling thread runs before the next poll, so what the consumer holds beyond the
 * bound is at most the one poll that crossed it ({@code max.poll.records}). Counting only from the
 * job's own thread, as before, let one run hold 177 jobs without a slot against a bound of 29:
 * records polled, queued in SmallRye or handed over to a virtual thread that had not started yet
 * were not counted, and the consumer kept polling. While over the bound the gate asks for the
 * pause on every check, not once: SmallRye resumes every partition when its own queue drains after
 * a pause of its own, and a rebalance can hand over partitions unpaused. That keeps every held
 * job's wait for a slot to seconds, far below {@code throttled.unprocessed-record-max-age.ms}, and
 * a slow rate does not hold hundreds of jobs away from the other workers. Pausing is the same call
 * {@link GracefulShutdown} makes; the gate never resumes a consumer once the worker is stopping.
 */
@ApplicationScoped
public class FetchGate {

    private static final long PERIOD_MILLIS = 100;
    /** See {@link PolledJobs#forgetIfIdleFor}: far longer than SmallRye takes to hand a queued record over. */
    private static final Duration QUEUE_IDLE = Duration.ofSeconds(10);

    private final KafkaClientService kafka;
    private final InFlightLimiter limiter;
    private final InFlightJobs jobs;
    private final PolledJobs polled;
    private final InFlightTarget target;
    private final GracefulShutdown shutdown;
    private final KilnConfig kiln;

    private volatile boolean paused;
    /** Records polled since the current pause was asked for, and the most in any pause so far. */
    private int polledWhilePaused;
    private volatile int worstOvershoot;
    private ScheduledExecutorService ticker;

    public FetchGate(KafkaClientService kafka, InFlightLimiter limiter, InFlightJobs jobs, PolledJobs polled,
                     InFlightTarget target, GracefulShutdown shutdown, KilnConfig kiln) {
        this.jobs = jobs;
        this.polled = polled;
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
        // At once when a poll returns or a record is handed over: a poll brings a batch every few
        // milliseconds, far faster than any timer. The timer covers resumes and partitions a
        // rebalance or SmallRye's own queue resumed.
        polled.onPoll(this::polled);
        limiter.onQueueChange(this::check);
        jobs.onArrival(this::check);
        ticker = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("kiln-fetch-gate").factory());
        ticker.scheduleWithFixedDelay(() -> {
            polled.forgetIfIdleFor(QUEUE_IDLE);
            check();
        }, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (ticker != null) {
            ticker.shutdownNow();
        }
    }

    /**
     * The most records any poll brought in after this gate had asked for the pause that was in
     * force, summed over each pause: what the bound lets through. The pause runs before the next
     * poll, so this is at most the poll under way when it was asked for.
     */
    int worstOvershoot() {
        return worstOvershoot;
    }

    /** A poll returned {@code records} (on the polling thread). */
    private synchronized void polled(int records) {
        if (paused) {
            polledWhilePaused += records;
            worstOvershoot = Math.max(worstOvershoot, polledWhilePaused);
        }
        check();
    }

    /** Whether the gate holds the consumer paused now. */
    public boolean isPaused() {
        return paused;
    }

    private synchronized void check() {
        try {
            if (shutdown.isDraining()) {
                return;
            }
            int waiting = withoutSlot();
            int ahead = ahead();
            if (waiting >= ahead) {
                // Every time, even when paused already: see the class comment. Pausing paused
                // partitions does nothing.
                setPaused(true);
            } else if (paused && waiting <= ahead / 2) {
                setPaused(false);
            }
        } catch (RuntimeException e) {
            Log.debugf("fetch gate: %s", e.toString());
        }
    }

    /**
     * The bound: {@code fetch-ahead} of this worker's calls, plus those on their way to a slot
     * (the time a job takes to reach its slot request, at the same rate).
     */
    int ahead() {
        return target.fetchAhead(jobs.secondsToSlot());
    }

    /**
     * Records in hand that have not had their slot yet: polled and queued in SmallRye, waiting for
     * a slot, or on their way to it (looking for stored outputs and in the render cache). Jobs whose
     * call has ended are left out: a slow S3 store must not stop the fetching of jobs for the slots
     * it freed.
     */
    int withoutSlot() {
        return polled.queued() + Math.max(0, jobs.inHand() - limiter.inUse() - jobs.afterCall());
    }

    /** Records polled and not handed over yet (in SmallRye's queue). */
    int queued() {
        return polled.queued();
    }

    /** Asks the polling thread to pause or resume; never waits for it (this may run in a job's thread). */
    private void setPaused(boolean pause) {
        List<KafkaConsumer<Object, Object>> consumers = kafka.getConsumers(Topics.JOBS_IN);
        for (KafkaConsumer<Object, Object> consumer : consumers) {
            if (pause) {
                consumer.pause().subscribe().with(ignored -> { }, this::failed);
            } else {
                consumer.resume().subscribe().with(ignored -> {
                    if (shutdown.isDraining()) {
                        // The shutdown's pause may have come between the check and this resume.
                        consumer.pause().subscribe().with(again -> { }, this::failed);
                    }
                }, this::failed);
            }
        }
        if (paused != pause) {
            polledWhilePaused = 0;
            Log.debugf("fetch gate: %s fetching (%d jobs in hand without a slot, fetch-ahead %d)", pause ? "paused" : "resumed",
                    withoutSlot(), ahead());
        }
        paused = pause;
    }

    private void failed(Throwable e) {
        Log.debugf("fetch gate: %s", e.toString());
    }
}
