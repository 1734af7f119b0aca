package dev.kiln.image;

import java.util.Locale;
import java.util.Optional;

/** The output formats gpt-image models produce, with their file extension and media type. */
public enum ImageFormat {
    PNG("png", "image/png"),
    JPEG("jpeg", "image/jpeg"),
    WEBP("webp", "image/webp");

    private final String apiName;
    private final String contentType;

    ImageFormat(String apiName, String contentType) {
        this.apiName = apiName;
        this.contentType = contentType;
    }

    /**
     * The format the Images API calls {@code name} ({@code png}, {@code jpeg}, {@code webp};
     * case-insensitive, {@code jpg} accepted as an alias).
     *
     * @throws IllegalArgumentException for any other name
     */
    public static ImageFormat fromName(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException("unknown image format: " + name));
    }

    /** Like {@link #fromName(String)} but empty for an unknown or null name. */
    public static Optional<ImageFormat> find(String name) {
        if (name == null) {
            return Optional.empty();
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "png" -> Optional.of(PNG);
            case "jpeg", "jpg" -> Optional.of(JPEG);
            case "webp" -> Optional.of(WEBP);
            default -> Optional.empty();
        };
    }

    /** The name the Images API uses in {@code output_format}. */
    public String apiName() {
        return apiName;
    }

    /** The file extension without a dot; equal to the API name, so {@code jpeg} rather than {@code jpg}. */
    public String extension() {
        return apiName;
    }

    /** The media type, such as {@code image/png}. */
    public String contentType() {
        return contentType;
    }

    /** Whether the format can carry an alpha channel (a transparent background). */
    public boolean supportsAlpha() {
        return this != JPEG;
    }
}
