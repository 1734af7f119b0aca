package dev.kiln.tenant;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RequestRateLimiterTest {

    @Test
    void aKeyGetsItsBurstThenItsRateAndSaysHowLongToWait() {
        AtomicLong now = new AtomicLong();
        RequestRateLimiter limiter = new RequestRateLimiter(2, 3, now::get);
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.acquire("key_a")).isEmpty();
        }
        assertThat(limiter.acquire("key_a")).contains(Duration.ofMillis(500));
        // Another key has its own bucket.
        assertThat(limiter.acquire("key_b")).isEmpty();
        now.addAndGet(Duration.ofMillis(500).toNanos());
        assertThat(limiter.acquire("key_a")).isEmpty();
        assertThat(limiter.acquire("key_a")).isPresent();
        now.addAndGet(Duration.ofSeconds(60).toNanos());
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.acquire("key_a")).isEmpty();
        }
        assertThat(limiter.acquire("key_a")).isPresent();
    }

    @Test
    void zeroTurnsTheLimitOff() {
        RequestRateLimiter limiter = new RequestRateLimiter(0, 1, () -> 0);
        for (int i = 0; i < 1000; i++) {
            assertThat(limiter.acquire("key_a")).isEmpty();
        }
    }
}
