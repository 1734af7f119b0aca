package dev.kiln.provider;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** The organisation's OpenAI rate limits, shared by every worker process. */
@ConfigMapping(prefix = "kiln.rate")
public interface RateConfig {

    /** Images per minute for the whole organisation (env {@code KILN_RATE_IPM}); 0 means no limit. */
    @WithDefault("0")
    double ipm();

    /** Requests per minute for the whole organisation (env {@code KILN_RATE_RPM}); 0 means no limit. */
    @WithDefault("0")
    double rpm();

    /**
     * Tokens per minute for the whole organisation (env {@code KILN_RATE_TPM}); 0 means no limit
     * (until the provider's {@code x-ratelimit-limit-tokens} names one). See {@code TokenPermits}.
     */
    @WithDefault("0")
    double tpm();

    /**
     * How much unused allowance may pile up, as time at the full rate. It should not exceed the
     * provider's own burst, or the first seconds of a batch would be answered with 429s.
     */
    @WithDefault("PT10S")
    Duration burst();

    /**
     * How much later than planned a call may reach the provider without meeting a 429 (env
     * {@code KILN_RATE_ARRIVAL_MARGIN}). The provider counts a call when it arrives, the permits
     * when they grant it; two calls granted one refill apart can arrive closer together (the first
     * opened a connection, the sender thread was descheduled), and a bucket paced to the token would
     * then be a few tokens short at the provider. So a permit is granted only while this much of the
     * rate is left in hand beyond the call: the steady rate is unchanged, the burst is this much shorter.
     */
    @WithDefault("PT0.25S")
    Duration arrivalMargin();

    /**
     * How often a worker re-reads the backlog of {@code kiln.jobs} to re-divide the limits
     * ({@code dev.kiln.provider.RateShare}), at the multiples of this period on the wall clock so
     * that every worker reads at the same moments ({@code ShareChange}); 0 divides by owned
     * partitions only.
     */
    @WithDefault("PT2S")
    Duration shareRefresh();

    /** The lowest fraction of its share a worker slows to while 429s persist. */
    @WithDefault("0.25")
    double minThrottle();
}
