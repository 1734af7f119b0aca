package dev.kiln.worker.ratelimit;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class RenderPermitsTest {

    private static RateConfig limits(double ipm, Duration burst) {
        return new RateConfig() {
            @Override
            public double ipm() {
                return ipm;
            }

            @Override
            public double rpm() {
                return 0;
            }

            @Override
            public Duration burst() {
                return burst;
            }

            @Override
            public Duration shareRefresh() {
                return Duration.ZERO;
            }

            @Override
            public double minThrottle() {
                return 0.25;
            }
        };
    }

    @Test
    void aFreshWorkerMayUseItsWholeBurstAtOnce() throws InterruptedException {
        RenderPermits permits = new RenderPermits(limits(300, Duration.ofSeconds(10)));
        long start = System.nanoTime();
        for (int i = 0; i < 50; i++) {
            permits.acquire(1);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("10 s at 300 IPM: 50 images without waiting")
                .isLessThan(Duration.ofMillis(150));
    }

    @Test
    void pastTheBurstPermitsComeAtTheRate() throws InterruptedException {
        RenderPermits permits = new RenderPermits(limits(600, Duration.ofSeconds(1)));
        for (int i = 0; i < 10; i++) {
            permits.acquire(1);
        }
        long start = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            permits.acquire(1);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("5 more at 10 a second")
                .isBetween(Duration.ofMillis(400), Duration.ofMillis(900));
    }

    @Test
    void aShareOfZeroDuringARebalanceDoesNotEmptyTheBucket() throws InterruptedException {
        RenderPermits permits = new RenderPermits(limits(600, Duration.ofSeconds(1)));
        permits.setShare(0);
        permits.setShare(0.5);
        long start = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            permits.acquire(1);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the half share's whole burst, at once")
                .isLessThan(Duration.ofMillis(150));
    }

    @Test
    void aSmallerShareCapsTheBurst() throws InterruptedException {
        RenderPermits permits = new RenderPermits(limits(600, Duration.ofSeconds(1)));
        permits.setShare(0.5);
        for (int i = 0; i < 5; i++) {
            permits.acquire(1);
        }
        long start = System.nanoTime();
        permits.acquire(1);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the sixth waits for a refill at 5 a second")
                .isGreaterThan(Duration.ofMillis(120));
    }
}
