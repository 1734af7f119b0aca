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

    /** The usage in an answer's {@code usage} object (the Images API's, also inside a Batch API result line). */
    public static ProviderUsage fromJson(com.fasterxml.jackson.databind.JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return NONE;
        }
        com.fasterxml.jackson.databind.JsonNode details = usage.path("input_tokens_details");
        long text = details.path("text_tokens").asLong(usage.path("input_tokens").asLong(0));
        long image = details.path("image_tokens").asLong(0);
        return new ProviderUsage(text, image, usage.path("output_tokens").asLong(0));
    }
}
