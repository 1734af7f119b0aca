package dev.kiln.reference;

import dev.kiln.image.ImageInfo;

import java.nio.file.Path;

/**
 * A reference image or mask fetched into the job's work folder and probed.
 *
 * @param field where the job names it, such as {@code reference_images[1]} or {@code mask}, for errors
 * @param file  the bytes, in the job's work folder
 * @param info  format and dimensions read from its header
 */
public record ReferenceImage(String field, Path file, ImageInfo info) {
}
