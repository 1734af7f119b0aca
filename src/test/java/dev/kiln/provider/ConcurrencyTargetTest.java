package dev.kiln.provider;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConcurrencyTargetTest {

    private final ConcurrencyTarget rule = new ConcurrencyTarget(1.25, 4, 512, 16);

    @Test
    void inFlightIsTheRateTimesTheLatencyWithHeadroom() {
        // 300 IPM, one worker: 5 calls/s.
        assertThat(rule.target(5, 1)).isEqualTo(7);     // 6.25 -> 7
        assertThat(rule.target(5, 12)).isEqualTo(75);
        assertThat(rule.target(5, 60)).isEqualTo(375);
        // A third of it on each of three workers.
        assertThat(rule.target(5 / 3.0, 60)).isEqualTo(125);
    }

    @Test
    void tierFiveAtHighQualityReachesTheCeiling() {
        // 250 IPM × 120 s × 1.25 = 625 -> 512
        assertThat(rule.target(250 / 60.0, 120)).isEqualTo(512);
    }

    @Test
    void smallFiguresKeepAFloorAndNoRateKeepsTheFallback() {
        assertThat(rule.target(0.1, 1)).isEqualTo(4);
        assertThat(rule.target(0, 120)).isEqualTo(16);
        assertThat(new ConcurrencyTarget(1.25, 4, 8, 16).withoutRate()).as("never above the ceiling").isEqualTo(8);
    }
}
