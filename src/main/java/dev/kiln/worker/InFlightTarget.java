package dev.kiln.worker;

import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.ConcurrencyConfig;
import dev.kiln.provider.ConcurrencyTarget;
import dev.kiln.provider.LatencyTracker;
import dev.kiln.provider.LatencyTracker.LatencyClass;
import dev.kiln.provider.RenderPermits;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This worker's in-flight target, recomputed as the rate share, the learned latencies and the mix
 * of jobs change: {@link ConcurrencyTarget} on {@link RenderPermits#callsPerSecond} and the mean
 * {@link LatencyTracker} latency of the last {@value #MIX} jobs' classes (their images per call
 * likewise), bounded by {@code KILN_WORKER_MAX_IN_FLIGHT}. Exported as
 * {@code kiln_worker_in_flight_target}, with each class's latency as
 * {@code kiln_worker_call_latency_seconds{quality,size}}.
 */
@ApplicationScoped
public class InFlightTarget {

    /** How many recent jobs make up the mix the latency is averaged over. */
    static final int MIX = 64;
    private static final long CACHE_NANOS = 50_000_000L;

    private final RenderPermits permits;
    private final LatencyTracker latencies;
    private final ConcurrencyTarget rule;
    private final ConcurrencyConfig config;
    private final MeterRegistry registry;
    private final LatencyClass[] recentClasses = new LatencyClass[MIX];
    private final int[] recentImages = new int[MIX];
    private final Set<LatencyClass> gauged = ConcurrentHashMap.newKeySet();
    private int recentCount;
    private int next;
    private long computedAt;
    private boolean stale = true;
    private int cached;
    private double cachedCallsPerSecond;

    public InFlightTarget(RenderPermits permits, LatencyTracker latencies, ConcurrencyConfig config, WorkerConfig worker,
                          MeterRegistry registry) {
        this.permits = permits;
        this.latencies = latencies;
        this.config = config;
        this.rule = ConcurrencyTarget.of(config, worker.maxInFlight());
        this.registry = registry;
        Gauge.builder("kiln.worker.in.flight.target", this, InFlightTarget::current)
                .description("Calls this worker keeps in flight: its share of the rate limits times the learned latency, with headroom")
                .register(registry);
    }

    /** A job asks for a slot: it joins the mix the target is computed for. */
    synchronized void noteJob(RenderJobRequested job) {
        LatencyClass latencyClass = LatencyClass.of(job.parameters());
        recentClasses[next] = latencyClass;
        recentImages[next] = Math.max(1, job.imageCount());
        next = (next + 1) % MIX;
        recentCount = Math.min(recentCount + 1, MIX);
        stale = true;
        if (gauged.add(latencyClass)) {
            Gauge.builder("kiln.worker.call.latency", latencies, l -> l.latency(latencyClass).toMillis() / 1000.0)
                    .description("The latency this worker plans with, per quality and size: the moving percentile of its calls, "
                            + "or twice the median age of the calls in flight when that is longer")
                    .tag("quality", latencyClass.quality()).tag("size", latencyClass.sizeTag()).baseUnit("seconds")
                    .register(registry);
        }
    }

    /** The target now. */
    public synchronized int current() {
        long now = System.nanoTime();
        if (!stale && now - computedAt < CACHE_NANOS) {
            return cached;
        }
        stale = false;
        computedAt = now;
        if (recentCount == 0) {
            // Nothing rendered yet: plan for the costliest class a first job could be.
            cachedCallsPerSecond = permits.callsPerSecond(1);
            cached = rule.target(cachedCallsPerSecond, latencies.latency(new LatencyClass("auto", 1)).toMillis() / 1000.0);
            return cached;
        }
        Map<LatencyClass, Double> seconds = new HashMap<>();
        double latencySum = 0;
        long images = 0;
        for (int i = 0; i < recentCount; i++) {
            latencySum += seconds.computeIfAbsent(recentClasses[i], c -> latencies.latency(c).toMillis() / 1000.0);
            images += recentImages[i];
        }
        cachedCallsPerSecond = permits.callsPerSecond((double) images / recentCount);
        cached = rule.target(cachedCallsPerSecond, latencySum / recentCount);
        return cached;
    }

    /**
     * How many jobs may be in hand without a slot before the consumer stops fetching: {@code fetch-ahead}
     * of this worker's call rate, at least 4 (the {@code without-rate} target when no rate is known).
     */
    public synchronized int fetchAhead() {
        return fetchAhead(0);
    }

    /**
     * As {@link #fetchAhead()}, for jobs that take {@code secondsToSlot} from their start to their
     * request for a slot (Little's law: that many more are on their way at this worker's call
     * rate), at most the ceiling.
     */
    public synchronized int fetchAhead(double secondsToSlot) {
        current();
        double seconds = config.fetchAhead().toMillis() / 1000.0 + Math.max(0, secondsToSlot);
        double calls = cachedCallsPerSecond > 0 ? cachedCallsPerSecond * seconds : rule.withoutRate();
        return (int) Math.min(Math.max(rule.maxInFlight(), 4), Math.max(4, Math.ceil(calls)));
    }
}
