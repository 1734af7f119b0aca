package dev.kiln.provider;

import dev.kiln.image.Dimensions;
import dev.kiln.job.ImageParameters;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * How long this worker's calls take, per quality × size class, learned from its own calls:
 * <pre>
 * latency(class) = max(p-th percentile of the class's last {@code samples} calls,
 *                      2 × median age of the class's calls in flight)
 * </pre>
 * The percentile is the seed from configuration until the class's first call ends. The second
 * term is what makes a growing latency visible at once: in a steady state the calls in flight
 * are on average half-way through, so twice their median age is about the latency and stays
 * below the percentile; when every call suddenly takes longer, it grows with the wall clock
 * (about t after t seconds), so the target keeps ahead of the calls the rate starts, while no slow
 * call has ended to say so. A single hung call does not move a median. When the latency falls,
 * fast calls replace slow ones in the window within {@code samples} calls, while the slow calls
 * still in flight keep their own slots through the age term until they end.
 *
 * <p>Only calls answered with images are recorded: a 429 or a 5xx is fast and says nothing about
 * a render's duration; a timeout is bounded by its own setting.
 */
@ApplicationScoped
public class LatencyTracker {

    private final int samples;
    private final double percentile;
    private final ConcurrencyConfig.Seeds seeds;
    private final LongSupplier nanoClock;
    private final Map<LatencyClass, Window> windows = new ConcurrentHashMap<>();
    private final AtomicLong callIds = new AtomicLong();

    @Inject
    public LatencyTracker(ConcurrencyConfig config) {
        this(config.samples(), config.percentile(), config.latencySeed(), System::nanoTime);
    }

    /** For tests: a clock of their own. */
    public LatencyTracker(int samples, double percentile, ConcurrencyConfig.Seeds seeds, LongSupplier nanoClock) {
        if (samples < 1 || percentile <= 0 || percentile > 1) {
            throw new IllegalArgumentException("samples must be positive and the percentile within (0, 1]");
        }
        this.samples = samples;
        this.percentile = percentile;
        this.seeds = seeds;
        this.nanoClock = nanoClock;
    }

    /**
     * A quality and a size bucket: {@code megapixels} is 1, 2, 4 or 8 (the power of two at or
     * above the image's pixels in units of 1024²), 0 for {@code auto}.
     */
    public record LatencyClass(String quality, int megapixels) {

        /** The class of a job's parameters; unset quality and size count as {@code auto}. */
        public static LatencyClass of(ImageParameters parameters) {
            String quality = parameters == null || parameters.quality() == null ? "auto"
                    : parameters.quality().toLowerCase(Locale.ROOT);
            String size = parameters == null ? null : parameters.size();
            int megapixels = Dimensions.parse(size).map(d -> {
                long pixels = (long) d.width() * d.height();
                int bucket = 1;
                while (bucket < 8 && pixels > bucket * 1024L * 1024L) {
                    bucket *= 2;
                }
                return bucket;
            }).orElse(0);
            return new LatencyClass(quality, megapixels);
        }

        /** The size bucket as a metric tag: {@code 1mp} … {@code 8mp}, or {@code auto}. */
        public String sizeTag() {
            return megapixels == 0 ? "auto" : megapixels + "mp";
        }
    }

    /** A call in flight; {@link #succeeded()} records its duration, {@link #ended()} only forgets it. */
    public final class Call {
        private final Window window;
        private final long id;
        private final long startNanos;
        private boolean done;

        private Call(Window window, long id, long startNanos) {
            this.window = window;
            this.id = id;
            this.startNanos = startNanos;
        }

        /** The call answered with images: its duration counts. */
        public Duration succeeded() {
            long took = nanoClock.getAsLong() - startNanos;
            if (end()) {
                window.record(took);
            }
            return Duration.ofNanos(took);
        }

        /** The call ended otherwise (a 429, a fault, an interruption): it no longer counts as in flight. */
        public void ended() {
            end();
        }

        private synchronized boolean end() {
            if (done) {
                return false;
            }
            done = true;
            window.inFlight.remove(id);
            return true;
        }
    }

    /** Registers the start of a call of {@code latencyClass}. */
    public Call start(LatencyClass latencyClass) {
        Window window = window(latencyClass);
        long id = callIds.incrementAndGet();
        long now = nanoClock.getAsLong();
        window.inFlight.put(id, now);
        return new Call(window, id, now);
    }

    /** Records one call of {@code latencyClass} that took {@code took} (tests, and warm starts). */
    public void record(LatencyClass latencyClass, Duration took) {
        window(latencyClass).record(took.toNanos());
    }

    /** The latency to plan with for {@code latencyClass} (see the class comment). */
    public Duration latency(LatencyClass latencyClass) {
        Window window = window(latencyClass);
        return Duration.ofNanos(Math.max(window.percentileNanos(), 2 * window.medianAgeNanos(nanoClock.getAsLong())));
    }

    /** The classes seen so far, with their current latency, for the metrics. */
    public Map<LatencyClass, Duration> latencies() {
        Map<LatencyClass, Duration> all = new java.util.TreeMap<>(
                java.util.Comparator.comparing(LatencyClass::quality).thenComparingInt(LatencyClass::megapixels));
        windows.keySet().forEach(c -> all.put(c, latency(c)));
        return all;
    }

    /** The seed of a class: its quality's seed, times its size bucket. */
    Duration seed(LatencyClass latencyClass) {
        return seeds.of(latencyClass.quality()).multipliedBy(Math.max(1, latencyClass.megapixels()));
    }

    private Window window(LatencyClass latencyClass) {
        return windows.computeIfAbsent(latencyClass, c -> new Window(seed(c).toNanos()));
    }

    /** The last calls of one class, and its calls in flight. */
    private final class Window {
        private final long seedNanos;
        private final long[] ring = new long[samples];
        private int count;
        private int next;
        private final Map<Long, Long> inFlight = new ConcurrentHashMap<>();

        Window(long seedNanos) {
            this.seedNanos = seedNanos;
        }

        synchronized void record(long nanos) {
            ring[next] = nanos;
            next = (next + 1) % ring.length;
            count = Math.min(count + 1, ring.length);
        }

        synchronized long percentileNanos() {
            if (count == 0) {
                return seedNanos;
            }
            long[] sorted = Arrays.copyOf(ring, count);
            Arrays.sort(sorted);
            int rank = (int) Math.ceil(percentile * count) - 1;
            return sorted[Math.max(0, Math.min(count - 1, rank))];
        }

        long medianAgeNanos(long now) {
            long[] ages = inFlight.values().stream().mapToLong(start -> now - start).sorted().toArray();
            return ages.length == 0 ? 0 : ages[(ages.length - 1) / 2];
        }
    }
}
