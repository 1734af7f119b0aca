package dev.kiln.job;

/**
 * One stored output image.
 *
 * @param index       position among the job's n outputs
 * @param key         the object key in the bucket
 * @param contentType e.g. {@code image/png}
 * @param bytes       object size
 * @param width       pixels
 * @param height      pixels
 * @param sha256      hex digest of the object
 */
public record JobOutput(int index, String key, String contentType, long bytes, int width, int height, String sha256) {
}
