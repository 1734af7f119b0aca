package dev.kiln.worker;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * The jobs this worker holds right now, with the step each is in and since when. It keeps one
 * delivery of a job at a time (a rebalance can deliver a job again while its first delivery still
 * runs here; the second waits, then finds the stored images instead of paying again), and it
 * exports the stuck-job check: {@code kiln_worker_jobs_stuck} counts jobs whose current step has
 * lasted longer than {@code kiln.worker.stuck-after}, each logged once;
 * {@code kiln_worker_oldest_step_seconds} is the age of the longest current step.
 *
 * <p>It also counts the records in hand: handed over by the Kafka connector and not yet settled
 * by {@link RenderWorker}, from the moment {@link JobHandOver} sees one (before its virtual thread
 * starts, before a retried job's jitter, before another delivery of the same job is waited for),
 * which is what {@link FetchGate} bounds. Exported as {@code kiln_worker_jobs_held}.
 */
@ApplicationScoped
public class InFlightJobs {

    /** Weight of the newest job in the moving mean of the time to the slot. */
    private static final double TO_SLOT_WEIGHT = 0.1;

    private final Map<String, Entry> jobs = new ConcurrentHashMap<>();
    private final WorkerConfig config;
    private final AtomicInteger inHand = new AtomicInteger();
    private final AtomicInteger afterCall = new AtomicInteger();
    /** Moving mean of the time from a job's start to its request for a slot, in nanoseconds. */
    private volatile double toSlotNanos;
    private volatile Runnable onArrival = () -> { };

    public InFlightJobs(WorkerConfig config, MeterRegistry registry) {
        this.config = config;
        Gauge.builder("kiln.worker.jobs.stuck", this, InFlightJobs::stuck)
                .description("Jobs held by this worker with no progress for longer than kiln.worker.stuck-after")
                .register(registry);
        Gauge.builder("kiln.worker.oldest.step", this, j -> j.oldestStep().toMillis() / 1000.0)
                .description("How long the longest current step of a held job has lasted").baseUnit("seconds")
                .register(registry);
        Gauge.builder("kiln.worker.jobs.held", inHand, AtomicInteger::get)
                .description("Jobs delivered to this worker by Kafka and not yet settled, with a slot or without")
                .register(registry);
    }

    /**
     * The connector handed a record over ({@link JobHandOver}, on the connector's thread); runs the
     * arrival listener at once (the fetch gate), before the next poll.
     */
    void arrived() {
        inHand.incrementAndGet();
        onArrival.run();
    }

    /** A record handed over by {@link #arrived()} is settled (or left for redelivery). */
    void left() {
        inHand.decrementAndGet();
    }

    /** Records handed to the worker and not yet settled. */
    int inHand() {
        return inHand.get();
    }

    /**
     * The job's call has ended and its slot is given back: it only checks, stores and announces
     * from now on, so it no longer counts as fetched ahead of a slot.
     */
    void callEnded(String jobId) {
        Entry[] marked = new Entry[1];
        jobs.computeIfPresent(jobId, (id, e) -> {
            if (e.afterCall()) {
                return e;
            }
            marked[0] = e.markAfterCall();
            return marked[0];
        });
        if (marked[0] != null) {
            afterCall.incrementAndGet();
        }
    }

    /** Jobs whose call has ended, still checking, storing or announcing. */
    int afterCall() {
        return afterCall.get();
    }

    /** Runs {@code listener} whenever a record is handed to the worker. */
    void onArrival(Runnable listener) {
        this.onArrival = listener;
    }

    /**
     * Registers a delivery of {@code jobId}; waits while another delivery of the same job runs here.
     *
     * @return false when {@code giveUp} said so before the other delivery ended
     */
    boolean begin(String jobId, BooleanSupplier giveUp) throws InterruptedException {
        Instant now = Instant.now();
        while (jobs.putIfAbsent(jobId, new Entry(Step.LOOK_FOR_STORED, now, now)) != null) {
            if (giveUp.getAsBoolean()) {
                return false;
            }
            Thread.sleep(200);
        }
        return true;
    }

    /** The job moved on to {@code step}: that is progress. */
    void step(String jobId, Step step) {
        Instant now = Instant.now();
        Entry entry = jobs.computeIfPresent(jobId, (id, e) -> new Entry(step, e.since(), now, false, e.afterCall()));
        if (entry != null && step == Step.AWAIT_SLOT) {
            // Looking for stored outputs and in the render cache (S3 calls) before the slot.
            noteTimeToSlot(Duration.between(entry.since(), now).toNanos());
        }
    }

    private synchronized void noteTimeToSlot(double nanos) {
        toSlotNanos = toSlotNanos == 0 ? nanos : toSlotNanos + TO_SLOT_WEIGHT * (nanos - toSlotNanos);
    }

    /**
     * How long a job takes from its start to its request for a slot, a moving mean over recent
     * jobs: the fetch gate fetches that much more, so that a slow S3 does not starve the slots.
     */
    double secondsToSlot() {
        return toSlotNanos / 1e9;
    }

    /** The delivery ended, however. */
    void end(String jobId) {
        Entry ended = jobs.remove(jobId);
        if (ended != null && ended.afterCall()) {
            afterCall.decrementAndGet();
        }
    }

    /** Jobs whose current step has lasted longer than {@code kiln.worker.stuck-after}. */
    int stuck() {
        Instant limit = Instant.now().minus(config.stuckAfter());
        int count = 0;
        for (Map.Entry<String, Entry> job : jobs.entrySet()) {
            Entry e = job.getValue();
            if (e.stepSince().isBefore(limit)) {
                count++;
                if (!e.reported() && jobs.replace(job.getKey(), e, e.markReported())) {
                    Log.warnf("job %s is stuck: it has waited to %s since %s (held since %s)", job.getKey(),
                            e.step().description(), e.stepSince(), e.since());
                }
            }
        }
        return count;
    }

    private Duration oldestStep() {
        Instant now = Instant.now();
        return jobs.values().stream().map(e -> Duration.between(e.stepSince(), now)).max(Duration::compareTo)
                .orElse(Duration.ZERO);
    }

    private record Entry(Step step, Instant since, Instant stepSince, boolean reported, boolean afterCall) {

        Entry(Step step, Instant since, Instant stepSince) {
            this(step, since, stepSince, false, false);
        }

        Entry markReported() {
            return new Entry(step, since, stepSince, true, afterCall);
        }

        Entry markAfterCall() {
            return new Entry(step, since, stepSince, reported, true);
        }
    }
}
