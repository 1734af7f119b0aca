package dev.kiln.worker;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class InFlightLimiterTest {

    private final AtomicInteger target = new AtomicInteger(2);
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final InFlightLimiter limiter = new InFlightLimiter(target::get, job -> { }, stopping::get);

    @Test
    void slotsFollowTheTargetBothWays() throws Exception {
        InFlightLimiter.Slot a = limiter.acquire(FakeWorld.job(1));
        InFlightLimiter.Slot b = limiter.acquire(FakeWorld.job(1));
        List<InFlightLimiter.Slot> later = new ArrayList<>();
        Thread waiter = Thread.ofVirtual().start(() -> {
            try {
                later.add(limiter.acquire(FakeWorld.job(1)));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().until(() -> limiter.waiting() == 1);
        // The target grows: the waiting job gets its slot without any call ending.
        target.set(3);
        waiter.join(2000);
        assertThat(later).hasSize(1);
        assertThat(limiter.inUse()).isEqualTo(3);

        // The target falls below the slots in use: nobody is cut off, new jobs wait until enough end.
        target.set(1);
        Thread second = Thread.ofVirtual().start(() -> {
            try {
                later.add(limiter.acquire(FakeWorld.job(1)));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().until(() -> limiter.waiting() == 1);
        a.close();
        a.close();
        b.close();
        assertThat(limiter.waiting()).isEqualTo(1);
        later.getFirst().close();
        second.join(2000);
        assertThat(later).hasSize(2);
        assertThat(limiter.inUse()).isEqualTo(1);
    }

    @Test
    void aStoppingWorkerGivesUpTheWait() throws Exception {
        target.set(1);
        limiter.acquire(FakeWorld.job(1));
        stopping.set(true);
        assertThatThrownBy(() -> limiter.acquire(FakeWorld.job(1))).isInstanceOf(JobAbandoned.class);
        assertThat(limiter.waiting()).isZero();
    }

    @Test
    void aJobWhoseCallEndedNoLongerCountsAsFetchedAhead(@TempDir Path work) throws Exception {
        InFlightJobs jobs = new InFlightJobs(FakeWorld.workerConfig(work), new SimpleMeterRegistry());
        InFlightLimiter slots = new InFlightLimiter(() -> 4, job -> { }, () -> false, jobs::callEnded);
        var job = FakeWorld.job(1);
        jobs.arrived();
        assertThat(jobs.begin(job.jobId(), () -> false)).isTrue();
        InFlightLimiter.Slot slot = slots.acquire(job);
        assertThat(jobs.afterCall()).as("calling").isZero();
        slot.close();
        slot.close();
        assertThat(jobs.afterCall()).as("storing after its call, counted once").isEqualTo(1);
        assertThat(jobs.inHand()).isEqualTo(1);
        jobs.end(job.jobId());
        jobs.left();
        assertThat(jobs.afterCall()).isZero();
        assertThat(jobs.inHand()).isZero();
    }

    @Test
    void theTimeToTheSlotIsLearnedFromTheJobsThatReachIt(@TempDir Path work) throws Exception {
        InFlightJobs jobs = new InFlightJobs(FakeWorld.workerConfig(work), new SimpleMeterRegistry());
        assertThat(jobs.secondsToSlot()).as("nothing learned yet").isZero();
        var job = FakeWorld.job(1);
        assertThat(jobs.begin(job.jobId(), () -> false)).isTrue();
        Thread.sleep(200);
        jobs.step(job.jobId(), Step.AWAIT_SLOT);
        assertThat(jobs.secondsToSlot()).isBetween(0.2, 10.0);
    }
}
