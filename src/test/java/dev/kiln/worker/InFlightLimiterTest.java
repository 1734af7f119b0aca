package dev.kiln.worker;

import org.junit.jupiter.api.Test;

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
}
