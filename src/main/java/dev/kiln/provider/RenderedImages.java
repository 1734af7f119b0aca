package dev.kiln.provider;


import java.nio.file.Path;
import java.util.List;

/**
 * What one successful call produced: the decoded images, each already on local disk, and usage.
 *
 * @param files   decoded image files, in the provider's order
 * @param usage   the provider's usage report
 * @param limits  the rate-limit headers of the answer
 * @param tokens  the token rate-limit headers of the answer
 */
public record RenderedImages(List<Path> files, ProviderUsage usage, RateLimitHeaders limits, TokenLimitHeaders tokens) {

    /** Images from an answer without token headers. */
    public RenderedImages(List<Path> files, ProviderUsage usage, RateLimitHeaders limits) {
        this(files, usage, limits, TokenLimitHeaders.NONE);
    }
}
