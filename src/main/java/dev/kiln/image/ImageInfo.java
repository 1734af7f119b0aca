package dev.kiln.image;

/**
 * What {@link ImageProbe} learns from an image's header.
 *
 * @param format the container format
 * @param width  width in pixels
 * @param height height in pixels
 */
public record ImageInfo(ImageFormat format, int width, int height) {

    /** The size as the Images API writes it, such as {@code 1536x1024}. */
    public String size() {
        return width + "x" + height;
    }

    /** The dimensions alone. */
    public Dimensions dimensions() {
        return new Dimensions(width, height);
    }
}
