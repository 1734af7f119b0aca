package dev.kiln.storage;

/**
 * Names of the S3 user metadata Kiln writes on every image it stores (outputs and reference
 * uploads), so that a reader learns an image's checks and size from a stat, without a download.
 */
public final class ImageMetadata {

    /** Hex SHA-256 of the object's bytes. */
    public static final String SHA256 = "kiln-sha256";
    /** Width in pixels. */
    public static final String WIDTH = "kiln-width";
    /** Height in pixels. */
    public static final String HEIGHT = "kiln-height";

    /** On an output copied from the render cache: the render key it was served under. */
    public static final String CACHED = "kiln-cached";

    private ImageMetadata() {
    }
}
