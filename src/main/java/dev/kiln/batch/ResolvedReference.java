package dev.kiln.batch;

import dev.kiln.image.Dimensions;

/**
 * A reference image or mask after intake resolved it.
 *
 * @param location   an object key in Kiln's bucket, or an https URL, as the job carries it
 * @param dimensions the image's size when known from the stored object's metadata; null for URLs
 */
public record ResolvedReference(String location, Dimensions dimensions) {
}
