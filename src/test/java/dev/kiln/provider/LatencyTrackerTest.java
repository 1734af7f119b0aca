package dev.kiln.provider;

import dev.kiln.job.ImageParameters;
import dev.kiln.provider.LatencyTracker.LatencyClass;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class LatencyTrackerTest {

    private static final LatencyClass LOW_1MP = new LatencyClass("low", 1);
    private final AtomicLong now = new AtomicLong();
    private final LatencyTracker tracker = new LatencyTracker(10, 0.9,
            ConcurrencyConfig.Seeds.fixed(Duration.ofSeconds(20), Duration.ofSeconds(45), Duration.ofSeconds(120),
                    Duration.ofSeconds(120)), now::get);

    @Test
    void classesAreQualityAndSizeBuckets() {
        assertThat(LatencyClass.of(params("1024x1024", "low"))).isEqualTo(new LatencyClass("low", 1));
        assertThat(LatencyClass.of(params("1536x1024", "high"))).isEqualTo(new LatencyClass("high", 2));
        assertThat(LatencyClass.of(params("2048x2048", "high"))).isEqualTo(new LatencyClass("high", 4));
        assertThat(LatencyClass.of(params("3840x2160", "medium"))).isEqualTo(new LatencyClass("medium", 8));
        assertThat(LatencyClass.of(params(null, null))).isEqualTo(new LatencyClass("auto", 0));
    }

    @Test
    void theSeedHoldsUntilTheFirstCallAndScalesWithSize() {
        assertThat(tracker.latency(LOW_1MP)).isEqualTo(Duration.ofSeconds(20));
        assertThat(tracker.latency(new LatencyClass("high", 2))).isEqualTo(Duration.ofSeconds(240));
        tracker.record(LOW_1MP, Duration.ofMillis(900));
        assertThat(tracker.latency(LOW_1MP)).isEqualTo(Duration.ofMillis(900));
    }

    @Test
    void theLatencyIsAMovingPercentile() {
        for (int i = 1; i <= 10; i++) {
            tracker.record(LOW_1MP, Duration.ofSeconds(i));
        }
        assertThat(tracker.latency(LOW_1MP)).isEqualTo(Duration.ofSeconds(9));
        // Ten fast calls push the slow ones out of the window.
        for (int i = 0; i < 10; i++) {
            tracker.record(LOW_1MP, Duration.ofMillis(500));
        }
        assertThat(tracker.latency(LOW_1MP)).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void callsInFlightLongerThanTheEstimateRaiseItBeforeAnyEnds() {
        for (int i = 0; i < 10; i++) {
            tracker.record(LOW_1MP, Duration.ofSeconds(1));
        }
        // The latency jumps: a call starts every 200 ms and none ends for 10 s.
        List<LatencyTracker.Call> calls = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            calls.add(tracker.start(LOW_1MP));
            now.addAndGet(Duration.ofMillis(200).toNanos());
        }
        // Ages 0.2 .. 10 s: twice the median is about the 10 s elapsed.
        assertThat(tracker.latency(LOW_1MP)).isBetween(Duration.ofSeconds(9), Duration.ofSeconds(11));
        // One hung call among fast ones moves nothing.
        calls.forEach(LatencyTracker.Call::ended);
        tracker.start(LOW_1MP);
        now.addAndGet(Duration.ofMinutes(5).toNanos());
        for (int i = 0; i < 3; i++) {
            tracker.start(LOW_1MP);
        }
        assertThat(tracker.latency(LOW_1MP)).isEqualTo(Duration.ofSeconds(1));
    }

    private static ImageParameters params(String size, String quality) {
        return new ImageParameters("gpt-image-2", size, quality, null, null, null, null, null, null);
    }
}
