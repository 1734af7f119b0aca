package dev.kiln.provider;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Prices in US dollars per million tokens, by token kind, to turn usage into cost. */
@ConfigMapping(prefix = "kiln.price")
public interface PriceConfig {

    /** Text input tokens, per million. */
    @WithDefault("5.00")
    double textInputPerMillion();

    /** Image input tokens (references of edits), per million. */
    @WithDefault("8.00")
    double imageInputPerMillion();

    /** Image output tokens, per million. */
    @WithDefault("30.00")
    double imageOutputPerMillion();

    /** The cost of a usage report. */
    default double cost(ProviderUsage usage) {
        return (usage.textInputTokens() * textInputPerMillion()
                + usage.imageInputTokens() * imageInputPerMillion()
                + usage.outputTokens() * imageOutputPerMillion()) / 1_000_000d;
    }
}
