package dev.kiln.api;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Limits at the door, checked before a body is read: its size by media type (413) and the media
 * types a body may have at all (415). {@code quarkus.http.limits.max-body-size} stays the hard
 * ceiling for bodies sent without a length.
 */
@ConfigMapping(prefix = "kiln.http-limits")
public interface RequestLimitsConfig {

    /** Largest {@code application/json} body: a whole catalogue of 100,000 items fits. */
    @WithDefault("256M")
    MemorySize jsonMaxBytes();

    /** Largest {@code application/x-ndjson} body (a catalogue read as a stream). */
    @WithDefault("256M")
    MemorySize ndjsonMaxBytes();

    /** Largest {@code multipart/form-data} body: one upload ({@code kiln.uploads.max-bytes}) and its envelope. */
    @WithDefault("60M")
    MemorySize multipartMaxBytes();
}
