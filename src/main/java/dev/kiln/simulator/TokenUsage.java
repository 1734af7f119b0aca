package dev.kiln.simulator;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageTokens;

import java.util.List;

/**
 * The {@code usage} of one answer, by the formula of {@link ImageTokens} (OpenAI's is not public
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

    static TokenUsage of(String prompt, List<Dimensions> inputImages, Dimensions output, String quality, int n) {
        long image = inputImages.stream().mapToLong(ImageTokens::imageInput).sum();
        return new TokenUsage(ImageTokens.textInput(prompt), image, ImageTokens.outputPerImage(quality, output) * n);
    }

    public long inputTokens() {
        return textTokens + imageTokens;
    }

    public long totalTokens() {
        return inputTokens() + outputTokens;
    }
}
