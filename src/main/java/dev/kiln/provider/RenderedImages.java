package dev.kiln.provider;


import java.nio.file.Path;
import java.util.List;

/**
 * What one successful call produced: the decoded images, each already on local disk, and usage.
 *
 * @param files   decoded image files, in the provider's order
 * @param usage   the provider's usage report
 * @param limits  the rate-limit headers of the answer
 */
public record RenderedImages(List<Path> files, ProviderUsage usage, RateLimitHeaders limits) {
}
