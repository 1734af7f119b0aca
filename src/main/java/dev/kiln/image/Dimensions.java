package dev.kiln.image;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An image size in pixels, as the Images API writes it: {@code WxH}.
 *
 * @param width  width in pixels
 * @param height height in pixels
 */
public record Dimensions(int width, int height) {

    /** What gpt-image models render for {@code size=auto} here: the square default. */
    public static final Dimensions AUTO_DEFAULT = new Dimensions(1024, 1024);

    private static final Pattern WXH = Pattern.compile("([1-9][0-9]{0,5})x([1-9][0-9]{0,5})");

    /**
     * The dimensions a {@code WxH} size names; empty for {@code auto}, null or anything malformed.
     * Edges are parsed but not checked against the model's rules: see {@link GptImageRules}.
     */
    public static Optional<Dimensions> parse(String size) {
        if (size == null) {
            return Optional.empty();
        }
        Matcher m = WXH.matcher(size);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Dimensions(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))));
    }

    /** The dimensions a render of {@code size} gets: {@link #AUTO_DEFAULT} for null or {@code auto}. */
    public static Dimensions resolve(String size) {
        if (size == null || size.equals("auto")) {
            return AUTO_DEFAULT;
        }
        return parse(size).orElseThrow(() -> new IllegalArgumentException("not a WxH size: " + size));
    }

    /** Width times height. */
    public long pixels() {
        return (long) width * height;
    }

    @Override
    public String toString() {
        return width + "x" + height;
    }
}
