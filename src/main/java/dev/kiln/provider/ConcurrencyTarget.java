package dev.kiln.provider;

/**
 * How many calls one worker keeps in flight: Little's law on its share of the organisation's
 * limits.
 * <pre>
 * calls/s = share × min(IPM / 60 / images per call, RPM / 60)       this worker's part of the limits
 * L       = mean, over the last jobs, of the latency of each job's quality × size class
 * target  = clamp(ceil(calls/s × L × headroom), min-in-flight, KILN_WORKER_MAX_IN_FLIGHT)
 *         = min(without-rate, KILN_WORKER_MAX_IN_FLIGHT)             while no limit is known
 * </pre>
 * A class's latency is the larger of the moving percentile (p90) of its last calls (the seed
 * from configuration until its first call ends) and twice the median age of its calls still in
 * flight, so a latency that grows raises the target before any slow call has ended
 * ({@link LatencyTracker}). Example: Tier 5's 250 IPM, one image a call, 120 s at high quality and
 * one worker: 4.17 × 120 × 1.25 = 625 → the ceiling, 512; at 12 s, 63; at 1 s, 6.
 *
 * <p>More slots never mean more calls per second: every call still waits for its rate permit
 * ({@link RenderPermits}), so the target only decides how many calls may overlap, and the
 * headroom only keeps a few jobs queued at the permits so that no permit goes unused.
 *
 * @param headroom     factor above Little's law, at least 1
 * @param minInFlight  the smallest target
 * @param maxInFlight  the ceiling ({@code KILN_WORKER_MAX_IN_FLIGHT})
 * @param withoutRate  the target while no rate is known
 */
public record ConcurrencyTarget(double headroom, int minInFlight, int maxInFlight, int withoutRate) {

    public ConcurrencyTarget {
        if (headroom < 1) {
            throw new IllegalArgumentException("the headroom must be at least 1, not " + headroom);
        }
        if (minInFlight < 1 || maxInFlight < 1) {
            throw new IllegalArgumentException("in-flight bounds must be positive");
        }
        minInFlight = Math.min(minInFlight, maxInFlight);
        withoutRate = Math.max(1, Math.min(withoutRate, maxInFlight));
    }

    /** The settings' target rule with {@code ceiling} ({@code KILN_WORKER_MAX_IN_FLIGHT}). */
    public static ConcurrencyTarget of(ConcurrencyConfig config, int ceiling) {
        return new ConcurrencyTarget(config.headroom(), config.minInFlight(), ceiling, config.withoutRate());
    }

    /**
     * The target.
     *
     * @param callsPerSecond this worker's share of the limits in calls per second; 0 when no limit is known
     * @param latencySeconds the latency of the calls to come
     */
    public int target(double callsPerSecond, double latencySeconds) {
        if (!(callsPerSecond > 0)) {
            return withoutRate;
        }
        double needed = Math.ceil(callsPerSecond * Math.max(0, latencySeconds) * headroom - 1e-9);
        return (int) Math.max(minInFlight, Math.min(maxInFlight, needed));
    }
}
