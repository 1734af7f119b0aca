package dev.kiln.provider;

/**
 * The {@code usage} block of an Images API answer.
 *
 * @param textInputTokens  prompt tokens
 * @param imageInputTokens reference-image tokens
 * @param outputTokens     image output tokens
 */
public record ProviderUsage(long textInputTokens, long imageInputTokens, long outputTokens) {

    /** No usage reported. */
    public static final ProviderUsage NONE = new ProviderUsage(0, 0, 0);
}
