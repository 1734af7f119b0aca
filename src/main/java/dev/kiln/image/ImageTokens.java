package dev.kiln.image;

import java.nio.charset.StandardCharsets;

/**
 * How many tokens a gpt-image render uses, as one model shared by Kiln's cost estimate and its
 * simulator, so that a dry run's estimate and a simulated batch's reported usage agree.
 *
 * <p>Output tokens scale with pixels from OpenAI's published counts for a 1024x1024 image: 272
 * at low, 1056 at medium and 4160 at high quality (1024x1536 is 408, 1584 and 6240 there; the
 * pixel scaling gives 408, 1584 and 6240 as well). gpt-image-2 renders any size, so the count
 * for {@code WxH} is {@code ceil(perMegapixel * W * H / 1024²)}. Input tokens are not published
 * as a formula; Kiln counts {@code ceil(UTF-8 bytes / 4)} for a prompt and
 * {@code ceil(W * H / 1024)} for each reference image.
 */
public final class ImageTokens {

    private static final long MEGAPIXEL = 1L << 20;

    private ImageTokens() {
    }

    /**
     * Output tokens of a 1024x1024 image at {@code quality}: {@code low}, {@code medium} or
     * {@code high}. {@code auto} (and null) count as medium here; an estimate that must bound
     * {@code auto} takes low and high instead.
     */
    public static long outputPerMegapixel(String quality) {
        if (quality == null) {
            return 1056;
        }
        return switch (quality) {
            case "low" -> 272;
            case "high" -> 4160;
            default -> 1056;
        };
    }

    /** Output tokens of one image of {@code size} at {@code quality}. */
    public static long outputPerImage(String quality, Dimensions size) {
        return (outputPerMegapixel(quality) * size.pixels() + MEGAPIXEL - 1) / MEGAPIXEL;
    }

    /** Text input tokens of a prompt. */
    public static long textInput(String prompt) {
        return (prompt.getBytes(StandardCharsets.UTF_8).length + 3) / 4;
    }

    /** Image input tokens of one reference image. */
    public static long imageInput(Dimensions image) {
        return (image.pixels() + 1023) / 1024;
    }
}
