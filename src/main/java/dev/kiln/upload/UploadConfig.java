package dev.kiln.upload;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Limits of reference uploads ({@code POST /v1/uploads}). An upload larger than
 * {@code quarkus.http.limits.max-body-size} (256M) is cut off by the HTTP server before Kiln
 * sees it, so {@link #maxBytes()} must stay below that.
 */
@ConfigMapping(prefix = "kiln.uploads")
public interface UploadConfig {

    /** Largest upload accepted, in bytes (env {@code KILN_UPLOADS_MAX_BYTES}); the Images API's own cap is 50 MB. */
    @WithDefault("52428800")
    long maxBytes();

    /**
     * Most pixels (width times height) an uploaded image may have (env {@code KILN_UPLOADS_MAX_PIXELS}).
     * Checked from the header before decoding, so that a small file claiming huge dimensions
     * cannot exhaust memory.
     */
    @WithDefault("100000000")
    long maxPixels();
}
