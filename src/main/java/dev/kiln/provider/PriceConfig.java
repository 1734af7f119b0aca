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

    /** Cached text input tokens (the provider's prompt cache), per million. */
    @WithDefault("1.25")
    double cachedTextInputPerMillion();

    /** Cached image input tokens, per million. */
    @WithDefault("2.00")
    double cachedImageInputPerMillion();

    /** The cost of a usage report: cached input at the cached prices, the rest at the full ones. */
    default double cost(ProviderUsage usage) {
        return ((usage.textInputTokens() - usage.cachedTextInputTokens()) * textInputPerMillion()
                + usage.cachedTextInputTokens() * cachedTextInputPerMillion()
                + (usage.imageInputTokens() - usage.cachedImageInputTokens()) * imageInputPerMillion()
                + usage.cachedImageInputTokens() * cachedImageInputPerMillion()
                + usage.outputTokens() * imageOutputPerMillion()) / 1_000_000d;
    }
}
