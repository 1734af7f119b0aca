package dev.kiln.simulator;

import dev.kiln.image.Dimensions;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code usage} of one answer, by the simulator's documented formula (OpenAI's is not public
 * in full; this one has the same shape and grows the same way):
 * <ul>
 *   <li>text tokens: {@code ceil(UTF-8 bytes of the prompt / 4)};</li>
 *   <li>image tokens (edits): for each input image {@code ceil(width * height / 1024)}; the mask is free;</li>
 *   <li>output tokens: per image {@code ceil(base * width * height / (1024 * 1024))} with base 272
 *       for low, 1056 for medium (and auto) and 4160 for high quality, times {@code n}.</li>
 * </ul>
 *
 * @param textTokens   prompt tokens
 * @param imageTokens  input image tokens
 * @param outputTokens tokens of all images rendered
 */
public record TokenUsage(long textTokens, long imageTokens, long outputTokens) {

    /** Output tokens per 1024x1024 image at each quality. */
    static long outputTokensPerMegapixel(String quality) {
        return switch (quality) {
            case "low" -> 272;
            case "high" -> 4160;
            default -> 1056;
        };
    }

    static TokenUsage of(String prompt, List<Dimensions> inputImages, Dimensions output, String quality, int n) {
        long text = (prompt.getBytes(StandardCharsets.UTF_8).length + 3) / 4;
        long image = inputImages.stream().mapToLong(d -> (d.pixels() + 1023) / 1024).sum();
        long perImage = (outputTokensPerMegapixel(quality) * output.pixels() + (1 << 20) - 1) >> 20;
        return new TokenUsage(text, image, perImage * n);
    }

    public long inputTokens() {
        return textTokens + imageTokens;
    }

    public long totalTokens() {
        return inputTokens() + outputTokens;
    }
}
