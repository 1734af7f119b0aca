package dev.kiln.provider;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The {@code usage} block of an Images API answer.
 *
 * @param textInputTokens        prompt tokens, cached ones included
 * @param imageInputTokens       reference-image tokens, cached ones included
 * @param outputTokens           image output tokens
 * @param cachedTextInputTokens  of the prompt tokens, those the provider served from its prompt cache
 * @param cachedImageInputTokens of the reference-image tokens, those served from its prompt cache
 */
public record ProviderUsage(long textInputTokens, long imageInputTokens, long outputTokens,
                            long cachedTextInputTokens, long cachedImageInputTokens) {

    /** No usage reported. */
    public static final ProviderUsage NONE = new ProviderUsage(0, 0, 0);

    /** A usage without cached input. */
    public ProviderUsage(long textInputTokens, long imageInputTokens, long outputTokens) {
        this(textInputTokens, imageInputTokens, outputTokens, 0, 0);
    }

    /** All cached input tokens. */
    public long cachedInputTokens() {
        return cachedTextInputTokens + cachedImageInputTokens;
    }

    /**
     * The usage in an answer's {@code usage} object (the Images API's, also inside a Batch API
     * result line). Cached input is read where the usage reports it, in OpenAI's usage shape:
     * {@code input_tokens_details.cached_tokens}, split by {@code cached_tokens_details.text_tokens}
     * and {@code image_tokens} when given; an unsplit count is taken as text first (the prompt is
     * what repeats), never more than there were tokens of each kind.
     */
    public static ProviderUsage fromJson(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return NONE;
        }
        JsonNode details = usage.path("input_tokens_details");
        long text = details.path("text_tokens").asLong(usage.path("input_tokens").asLong(0));
        long image = details.path("image_tokens").asLong(0);
        long cached = Math.max(0, details.path("cached_tokens").asLong(0));
        JsonNode split = details.path("cached_tokens_details");
        long cachedText;
        long cachedImage;
        if (split.isObject()) {
            cachedText = Math.min(text, Math.max(0, split.path("text_tokens").asLong(0)));
            cachedImage = Math.min(image, Math.max(0, split.path("image_tokens").asLong(0)));
        } else {
            cachedText = Math.min(text, cached);
            cachedImage = Math.min(image, cached - cachedText);
        }
        return new ProviderUsage(text, image, usage.path("output_tokens").asLong(0), cachedText, cachedImage);
    }
}
