package dev.kiln.dispatch;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReleaseWindowTest {

    private static ReleaseWindow window(double ipm) {
        return new ReleaseWindow(ipm, Duration.ofSeconds(5), Duration.ofSeconds(10), 0.25, 4, 1000);
    }

    @Test
    void aRateLimitGivesSecondsOfWorkAndAShareOfTheBurst() {
        // 250 IPM = 4.17 images/s; (5 s + 0.25 × 10 s) × 4.17 = 31.25 -> 32 jobs, about 8 s of work.
        assertThat(window(250).target(48)).isEqualTo(32);
        // The workers' capacity plays no part under a rate limit: renders in flight are not counted.
        assertThat(window(250).target(500)).isEqualTo(32);
        // 3000 IPM: 50/s × 7.5 s
        assertThat(window(3000).target(0)).isEqualTo(375);
    }

    @Test
    void withoutARateLimitTheWorkersCapacityIsOneRefillOfEverySlot() {
        assertThat(window(0).target(3 * 16)).isEqualTo(48);
    }

    @Test
    void theWindowStaysWithinItsBounds() {
        assertThat(window(1).target(0)).as("a tiny rate still moves").isEqualTo(4);
        assertThat(window(0).target(0)).as("no worker seen yet").isEqualTo(4);
        assertThat(window(100_000).target(0)).isEqualTo(1000);
        assertThatThrownBy(() -> new ReleaseWindow(0, Duration.ZERO, Duration.ZERO, 0.25, 0, 10))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
