package dev.kiln.worker;

import dev.kiln.job.RenderJobRequested;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * The slots of the in-flight target: a job takes one before it is announced {@code running} and
 * asks for a rate permit, and gives it back as soon as its call has ended (checking and storing
 * the images need no slot). The number of slots is {@link InFlightTarget#current()}, read again
 * whenever a slot is asked for or given back and at least every 200 ms while jobs wait, so it
 * follows the rate share and the latency both ways. When the target falls below the slots in use,
 * nobody is cut off: new jobs wait until enough calls have ended.
 *
 * <p>Jobs get slots in the order they asked. A job waiting here has not been announced
 * {@code running}, so the dispatcher still counts it as released but not started, and its window
 * bounds how many wait; {@link FetchGate} pauses the consumer when more than a couple of seconds
 * of jobs wait. Exported as {@code kiln_worker_in_flight} (slots in use) and
 * {@code kiln_worker_in_flight_waiting}.
 */
@ApplicationScoped
public class InFlightLimiter {

    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private final IntSupplier target;
    private final Consumer<RenderJobRequested> noteJob;
    private final BooleanSupplier giveUp;
    private final Consumer<String> released;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Deque<Object> queue = new ArrayDeque<>();
    private int inUse;
    private volatile Runnable onQueueChange = () -> { };

    @Inject
    public InFlightLimiter(InFlightTarget target, GracefulShutdown shutdown, InFlightJobs jobs, MeterRegistry registry) {
        this(target::current, job -> {
            jobs.step(job.jobId(), Step.AWAIT_SLOT);
            target.noteJob(job);
        }, shutdown::isDraining, jobs::callEnded);
        Gauge.builder("kiln.worker.in.flight", this, InFlightLimiter::inUse)
                .description("Jobs holding a slot of the in-flight target: calling the provider or waiting for a rate permit")
                .register(registry);
        Gauge.builder("kiln.worker.in.flight.waiting", this, InFlightLimiter::waiting)
                .description("Jobs fetched and waiting for a slot of the in-flight target")
                .register(registry);
    }

    /** For tests: a target of their own; {@code giveUp} is a shutdown. */
    InFlightLimiter(IntSupplier target, Consumer<RenderJobRequested> noteJob, BooleanSupplier giveUp) {
        this(target, noteJob, giveUp, jobId -> { });
    }

    /** For tests: as above, and {@code released} hears of every slot given back, by job id. */
    InFlightLimiter(IntSupplier target, Consumer<RenderJobRequested> noteJob, BooleanSupplier giveUp,
                    Consumer<String> released) {
        this.target = target;
        this.noteJob = noteJob;
        this.giveUp = giveUp;
        this.released = released;
    }

    /** One job's slot; closing it more than once gives it back once. */
    public final class Slot implements AutoCloseable {
        private final String jobId;
        private boolean held = true;

        private Slot(String jobId) {
            this.jobId = jobId;
        }

        @Override
        public void close() {
            boolean gaveBack = false;
            lock.lock();
            try {
                if (held) {
                    held = false;
                    inUse--;
                    gaveBack = true;
                    changed.signalAll();
                }
            } finally {
                lock.unlock();
            }
            if (gaveBack) {
                released.accept(jobId);
            }
        }
    }

    /**
     * Waits for a slot for {@code job}, in turn.
     *
     * @throws JobAbandoned when the worker begins to stop first
     */
    Slot acquire(RenderJobRequested job) throws JobAbandoned, InterruptedException {
        noteJob.accept(job);
        try {
            return take(job);
        } finally {
            onQueueChange.run();
        }
    }

    private Slot take(RenderJobRequested job) throws JobAbandoned, InterruptedException {
        Object ticket = new Object();
        lock.lockInterruptibly();
        try {
            queue.addLast(ticket);
            if (queue.peekFirst() != ticket || inUse >= target.getAsInt()) {
                lock.unlock();
                try {
                    onQueueChange.run();
                } finally {
                    lock.lock();
                }
            }
            try {
                while (queue.peekFirst() != ticket || inUse >= target.getAsInt()) {
                    if (giveUp.getAsBoolean()) {
                        throw new JobAbandoned(job.jobId(), Step.AWAIT_SLOT);
                    }
                    changed.awaitNanos(RECHECK_NANOS);
                }
                inUse++;
                return new Slot(job.jobId());
            } finally {
                queue.remove(ticket);
                // The next in line may fit as well.
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code listener} (outside the lock) whenever a job joins or leaves the queue for a slot. */
    void onQueueChange(Runnable listener) {
        this.onQueueChange = listener;
    }

    /** Slots in use. */
    public int inUse() {
        lock.lock();
        try {
            return inUse;
        } finally {
            lock.unlock();
        }
    }

    /** Jobs waiting for a slot. */
    public int waiting() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }
}
