package dev.kiln.provider;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/**
 * How many calls a worker keeps in flight (see {@link ConcurrencyTarget} for the formula). The
 * ceiling is {@code kiln.worker.max-in-flight} ({@code KILN_WORKER_MAX_IN_FLIGHT}); everything
 * here has a default that needs no tuning.
 */
@ConfigMapping(prefix = "kiln.concurrency")
public interface ConcurrencyConfig {

    /**
     * Room above Little's law: the target is the calls the rate needs times this. The extra slots
     * hold jobs already waiting for a rate permit, so a permit is never left unused for want of a
     * job; they never add calls, as the permits govern.
     */
    @WithDefault("1.25")
    double headroom();

    /** The percentile of a class's recent call durations taken as its latency, 0 to 1. */
    @WithDefault("0.9")
    double percentile();

    /** How many recent calls of each quality and size class the percentile is taken over. */
    @WithDefault("50")
    int samples();

    /** The fewest calls a worker keeps in flight, however small its share of the rate. */
    @WithDefault("4")
    int minInFlight();

    /**
     * Calls in flight while no rate limit is known (no {@code KILN_RATE_IPM} or {@code
     * KILN_RATE_RPM}, and no {@code x-ratelimit-limit-*} header seen yet). Little's law needs a
     * rate; without one, a worker keeps this many, as it did before the target existed.
     */
    @WithDefault("16")
    int withoutRate();

    /**
     * Jobs fetched ahead of the target, as time at this worker's call rate: once that many are
     * in hand without a slot, the consumer pauses fetching (at least {@code 4} jobs).
     */
    @WithDefault("PT2S")
    Duration fetchAhead();

    /** Latency assumed for a class before its first call ends, by quality, for a 1024×1024 image. */
    Seeds latencySeed();

    /**
     * Seeds per quality. Larger images start at the seed times their size class (2 for up to
     * 2 MP, such as 1536×1024; 4 up to 4 MP; 8 above). Published measurements of gpt-image
     * models: about 15 s at low quality, up to about 4 minutes at high quality and 1536×1024.
     */
    interface Seeds {
        /** A {@code low} quality call. */
        @WithDefault("PT20S")
        Duration low();

        /** A {@code medium} quality call. */
        @WithDefault("PT45S")
        Duration medium();

        /** A {@code high} quality call. */
        @WithDefault("PT120S")
        Duration high();

        /** An {@code auto} (or unset) quality call: the provider may choose high. */
        @WithDefault("PT120S")
        Duration auto();

        /** Fixed seeds, for code that runs without configuration (tests). */
        static Seeds fixed(Duration low, Duration medium, Duration high, Duration auto) {
            return new Seeds() {
                public Duration low() { return low; }
                public Duration medium() { return medium; }
                public Duration high() { return high; }
                public Duration auto() { return auto; }
            };
        }

        /** The seed of {@code quality}. */
        default Duration of(String quality) {
            return switch (quality) {
                case "low" -> low();
                case "medium" -> medium();
                case "high" -> high();
                default -> auto();
            };
        }
    }
}
