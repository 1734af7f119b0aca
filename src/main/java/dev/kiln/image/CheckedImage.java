package dev.kiln.image;


import java.nio.file.Path;

/**
 * A decoded image that passed the output checks, ready to upload.
 *
 * @param index  position among the job's outputs
 * @param file   where it is on local disk
 * @param format its format, as read from its header
 * @param width  pixels
 * @param height pixels
 * @param bytes  file size
 * @param sha256 hex digest of the file
 */
public record CheckedImage(int index, Path file, ImageFormat format, int width, int height, long bytes, String sha256) {
}
