package dev.kiln.image;

import java.nio.charset.StandardCharsets;

/**
 * How many tokens a gpt-image render uses, as one model shared by Kiln's cost estimate, its
 * token pacing and its simulator, so that a dry run's estimate and a simulated batch's reported
 * usage agree.
 *
 * <p>Output tokens of gpt-image-2 for a 1024x1024 image: about 196 at low quality (OpenAI's image
 * generation guide, as issue 16 quotes it) and 7,024 at high (OpenAI's cost calculator for
 * gpt-image-2, as reported on the OpenAI developer forum at launch). Medium is taken as a quarter
 * of high, 1,756: no source reachable here states it; gpt-image-1's medium was about a quarter of
 * its high (1,056 against 4,160). The gpt-image-1 figures (272, 1,056, 4,160) these replace
 * under-counted high quality by 41 % and over-counted low by 39 %. gpt-image-2 renders any size;
 * the count for {@code WxH} is {@code ceil(perMegapixel * W * H / 1024²)}. OpenAI's calculator is
 * not proportional to pixels (1536x1024 high shows 5,488, less than 1024x1024), so for
 * non-square sizes this over-counts, which keeps budgets and token pacing on the safe side; the
 * true cost always comes from the provider's {@code usage}. Input tokens are not published as a
 * formula; Kiln counts {@code ceil(UTF-8 bytes / 4)} for a prompt and {@code ceil(W * H / 1024)}
 * for each reference image. See docs/costs.md.
 */
public final class ImageTokens {

    private static final long MEGAPIXEL = 1L << 20;

    private ImageTokens() {
    }

    /** gpt-image-2 output tokens of a 1024x1024 image at low quality. */
    public static final long LOW_PER_MEGAPIXEL = 196;
    /** gpt-image-2 output tokens of a 1024x1024 image at medium quality (a quarter of high; see above). */
    public static final long MEDIUM_PER_MEGAPIXEL = 1756;
    /** gpt-image-2 output tokens of a 1024x1024 image at high quality. */
    public static final long HIGH_PER_MEGAPIXEL = 7024;

    /**
     * Output tokens of a 1024x1024 image at {@code quality}: {@code low}, {@code medium} or
     * {@code high}. {@code auto} (and null) count as medium here; an estimate that must bound
     * {@code auto} takes low and high instead.
     */
    public static long outputPerMegapixel(String quality) {
        if (quality == null) {
            return MEDIUM_PER_MEGAPIXEL;
        }
        return switch (quality) {
            case "low" -> LOW_PER_MEGAPIXEL;
            case "high" -> HIGH_PER_MEGAPIXEL;
            default -> MEDIUM_PER_MEGAPIXEL;
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
