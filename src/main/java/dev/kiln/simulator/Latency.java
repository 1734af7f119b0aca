package dev.kiln.simulator;

import java.util.random.RandomGenerator;

/**
 * How long the simulator takes to answer a render: {@code mean ± jitter} milliseconds, uniformly.
 *
 * @param meanMillis   the mean delay
 * @param jitterMillis the largest deviation either side of the mean
 */
public record Latency(long meanMillis, long jitterMillis) {

    /** Answer at once. */
    public static final Latency NONE = new Latency(0, 0);

    public Latency {
        if (meanMillis < 0 || jitterMillis < 0) {
            throw new IllegalArgumentException("latency must not be negative");
        }
    }

    /** One delay drawn from {@code random}, never negative. */
    public long sampleMillis(RandomGenerator random) {
        if (jitterMillis == 0) {
            return meanMillis;
        }
        return Math.max(0, meanMillis + random.nextLong(-jitterMillis, jitterMillis + 1));
    }
}
