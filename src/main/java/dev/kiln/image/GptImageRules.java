package dev.kiln.image;

import dev.kiln.job.ImageParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * gpt-image-2's request rules as pure functions. Every check takes nullable values: null means
 * "not given", which is always fine because the API then applies its default. The intake checks a
 * batch with these before accepting it, and the simulator answers 400 with the same rules, so the
 * two can never disagree.
 */
public final class GptImageRules {

    /** The longest edge gpt-image-2 renders. */
    public static final int MAX_EDGE = 3840;
    /** Both edges must be multiples of this. */
    public static final int EDGE_MULTIPLE = 16;
    /** The long edge may be at most this many times the short one. */
    public static final int MAX_ASPECT_RATIO = 3;
    /** The fewest pixels of a render. */
    public static final long MIN_PIXELS = 655_360;
    /** The most pixels of a render (3840x2160). */
    public static final long MAX_PIXELS = 8_294_400;
    /** The most images in one request. */
    public static final int MAX_N = 10;
    /** The longest prompt, in Unicode code points (OpenAI documents "characters"). */
    public static final int MAX_PROMPT_CODE_POINTS = 32_000;

    static final Set<String> QUALITIES = Set.of("low", "medium", "high", "auto");
    static final Set<String> BACKGROUNDS = Set.of("transparent", "opaque", "auto");
    static final Set<String> MODERATIONS = Set.of("auto", "low");
    static final Set<String> INPUT_FIDELITIES = Set.of("high", "low");
    private static final Pattern MODEL = Pattern.compile("gpt-image-[A-Za-z0-9][A-Za-z0-9._-]*");

    private GptImageRules() {
    }

    /**
     * Every rule that {@code prompt} (null when not given) and {@code parameters} break, in the
     * order of the fields; empty when they are valid. A new parameter of {@link ImageParameters}
     * gets its check here.
     */
    public static List<Violation> validate(String prompt, ImageParameters parameters) {
        ImageParameters p = parameters == null ? ImageParameters.NONE : parameters;
        List<Violation> out = new ArrayList<>();
        checkModel(p.model()).ifPresent(out::add);
        checkPrompt(prompt).ifPresent(out::add);
        checkSize(p.size()).ifPresent(out::add);
        checkN(p.n()).ifPresent(out::add);
        checkQuality(p.quality()).ifPresent(out::add);
        checkOutputFormat(p.outputFormat()).ifPresent(out::add);
        checkBackground(p.background(), p.outputFormat()).ifPresent(out::add);
        checkOutputCompression(p.outputCompression(), p.outputFormat()).ifPresent(out::add);
        checkModeration(p.moderation()).ifPresent(out::add);
        checkInputFidelity(p.inputFidelity()).ifPresent(out::add);
        return List.copyOf(out);
    }

    /** {@code model}: any {@code gpt-image-*} model. */
    public static Optional<Violation> checkModel(String model) {
        if (model == null || MODEL.matcher(model).matches()) {
            return Optional.empty();
        }
        return violation("model", "must be a gpt-image-* model");
    }

    /** {@code prompt}: 1 to 32,000 characters, counted as Unicode code points. */
    public static Optional<Violation> checkPrompt(String prompt) {
        if (prompt == null) {
            return Optional.empty();
        }
        if (prompt.isEmpty()) {
            return violation("prompt", "must not be empty");
        }
        if (prompt.codePointCount(0, prompt.length()) > MAX_PROMPT_CODE_POINTS) {
            return violation("prompt", "must be at most 32000 characters");
        }
        return Optional.empty();
    }

    /**
     * {@code size}: {@code auto}, or {@code WxH} with both edges multiples of 16, the longest edge at
     * most 3840, an aspect ratio of at most 3:1 and 655,360 to 8,294,400 pixels in all.
     */
    public static Optional<Violation> checkSize(String size) {
        if (size == null || size.equals("auto")) {
            return Optional.empty();
        }
        Optional<Dimensions> parsed = Dimensions.parse(size);
        if (parsed.isEmpty()) {
            return violation("size", "must be auto or WxH with both edges multiples of 16");
        }
        Dimensions d = parsed.get();
        if (d.width() % EDGE_MULTIPLE != 0 || d.height() % EDGE_MULTIPLE != 0) {
            return violation("size", "must be auto or WxH with both edges multiples of 16");
        }
        int longEdge = Math.max(d.width(), d.height());
        int shortEdge = Math.min(d.width(), d.height());
        if (longEdge > MAX_EDGE) {
            return violation("size", "must have its longest edge at most 3840 pixels");
        }
        if (longEdge > (long) MAX_ASPECT_RATIO * shortEdge) {
            return violation("size", "must have an aspect ratio of at most 3:1");
        }
        if (d.pixels() < MIN_PIXELS || d.pixels() > MAX_PIXELS) {
            return violation("size", "must have between 655360 and 8294400 pixels in all");
        }
        return Optional.empty();
    }

    /** {@code n}: 1 to 10. */
    public static Optional<Violation> checkN(Integer n) {
        if (n == null || (n >= 1 && n <= MAX_N)) {
            return Optional.empty();
        }
        return violation("n", "must be between 1 and 10");
    }

    /** {@code quality}: low, medium, high or auto. */
    public static Optional<Violation> checkQuality(String quality) {
        return oneOf("quality", quality, QUALITIES, "must be low, medium, high or auto");
    }

    /** {@code output_format}: png, jpeg or webp. */
    public static Optional<Violation> checkOutputFormat(String outputFormat) {
        if (outputFormat == null || isExactFormatName(outputFormat)) {
            return Optional.empty();
        }
        return violation("output_format", "must be png, jpeg or webp");
    }

    /**
     * {@code background}: transparent, opaque or auto; transparent only with png or webp (a null
     * format means the default, png).
     */
    public static Optional<Violation> checkBackground(String background, String outputFormat) {
        Optional<Violation> value = oneOf("background", background, BACKGROUNDS, "must be transparent, opaque or auto");
        if (value.isPresent()) {
            return value;
        }
        if ("transparent".equals(background) && "jpeg".equals(outputFormat)) {
            return violation("background", "may be transparent only with output_format png or webp");
        }
        return Optional.empty();
    }

    /**
     * {@code output_compression}: 0 to 100, and only with jpeg or webp (a null format means the
     * default, png, so compression without a format is refused too).
     */
    public static Optional<Violation> checkOutputCompression(Integer outputCompression, String outputFormat) {
        if (outputCompression == null) {
            return Optional.empty();
        }
        if (outputCompression < 0 || outputCompression > 100) {
            return violation("output_compression", "must be between 0 and 100");
        }
        if (!"jpeg".equals(outputFormat) && !"webp".equals(outputFormat)) {
            return violation("output_compression", "may be given only with output_format jpeg or webp");
        }
        return Optional.empty();
    }

    /** {@code moderation}: auto or low. */
    public static Optional<Violation> checkModeration(String moderation) {
        return oneOf("moderation", moderation, MODERATIONS, "must be auto or low");
    }

    /** {@code input_fidelity}: high or low. */
    public static Optional<Violation> checkInputFidelity(String inputFidelity) {
        return oneOf("input_fidelity", inputFidelity, INPUT_FIDELITIES, "must be high or low");
    }

    private static boolean isExactFormatName(String name) {
        return name.equals("png") || name.equals("jpeg") || name.equals("webp");
    }

    private static Optional<Violation> oneOf(String field, String value, Set<String> allowed, String reason) {
        if (value == null || allowed.contains(value)) {
            return Optional.empty();
        }
        return violation(field, reason);
    }

    private static Optional<Violation> violation(String field, String reason) {
        return Optional.of(new Violation(field, reason));
    }
}
