package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What a render consumed, as the provider reported it, and what it cost under Kiln's price table.
 *
 * @param images           images produced
 * @param textInputTokens  prompt tokens
 * @param imageInputTokens reference-image tokens (edits)
 * @param outputTokens     image output tokens
 * @param costUsd          the cost in US dollars under the configured price table
 * @param cachedInputTokens input tokens (of {@code textInputTokens} and {@code imageInputTokens}) the provider
 *                          reported as cached, priced at the cached-input rates
 * @param cached           jobs served from the render cache (a cached job: 1, with no tokens and no cost)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Usage(long images, long textInputTokens, long imageInputTokens, long outputTokens, double costUsd,
                    long cachedInputTokens, long cached) {

    /** A usage with nothing cached. */
    public Usage(long images, long textInputTokens, long imageInputTokens, long outputTokens, double costUsd) {
        this(images, textInputTokens, imageInputTokens, outputTokens, costUsd, 0, 0);
    }

    /** The usage of a job the render cache served: its images, no tokens, no cost. */
    public static Usage servedFromCache(long images) {
        return new Usage(images, 0, 0, 0, 0, 0, 1);
    }

    public Usage {
        // Whole nano-dollars: sums of many jobs would otherwise show binary noise (1.2044429999999997).
        costUsd = Math.round(costUsd * 1e9) / 1e9;
    }

    /** Nothing consumed. */
    public static final Usage ZERO = new Usage(0, 0, 0, 0, 0);

    /** The sum of this and {@code other}. */
    public Usage plus(Usage other) {
        if (other == null) {
            return this;
        }
        return new Usage(images + other.images, textInputTokens + other.textInputTokens,
                imageInputTokens + other.imageInputTokens, outputTokens + other.outputTokens,
                costUsd + other.costUsd, cachedInputTokens + other.cachedInputTokens, cached + other.cached);
    }
}
