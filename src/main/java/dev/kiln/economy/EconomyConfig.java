package dev.kiln.economy;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** The economy lane (OpenAI Batch API) in the worker role; see docs/costs.md. */
@ConfigMapping(prefix = "kiln.economy")
public interface EconomyConfig {

    /** Send {@code lane: economy} jobs through the Batch API; off sends them through the standard lane. */
    @WithDefault("true")
    boolean enabled();

    /**
     * How long the lane gathers jobs into one group before it submits it. Longer makes fewer,
     * larger provider batches; the Batch API's 24 h window dwarfs it either way.
     */
    @WithDefault("PT10S")
    Duration collectWindow();

    /** How often an open provider batch is polled; its results can take up to 24 h. */
    @WithDefault("PT30S")
    Duration pollInterval();

    /** Most requests in one provider batch; OpenAI allows 50,000. */
    @WithDefault("50000")
    int maxRequests();

    /** Most bytes of one input file; OpenAI allows 200 MB, kept under it by a margin for the multipart framing. */
    @WithDefault("199000000")
    long maxBytes();

    /** What the Batch API charges as a share of the standard price (OpenAI: half). */
    @WithDefault("0.5")
    double priceFactor();

    /** Reading {@code kiln.provider-batches} at start-up must end within this, or the lane stays closed. */
    @WithDefault("PT30S")
    Duration reattachTimeout();
}
