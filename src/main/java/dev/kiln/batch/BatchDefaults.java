package dev.kiln.batch;

import dev.kiln.job.ImageParameters;

import java.util.List;

/**
 * Parameters every item of a batch inherits unless it sets its own.
 *
 * @param model             default model, {@code gpt-image-2} when unset
 * @param size              default size
 * @param quality           default quality
 * @param background        default background
 * @param outputFormat      default format
 * @param outputCompression default compression
 * @param moderation        default moderation
 * @param n                 default image count
 * @param inputFidelity     default input fidelity (edits)
 * @param referenceImages   references every item edits from (series consistency)
 * @param mask              default mask
 */
public record BatchDefaults(
        String model,
        String size,
        String quality,
        String background,
        String outputFormat,
        Integer outputCompression,
        String moderation,
        Integer n,
        String inputFidelity,
        List<String> referenceImages,
        String mask) {

    /** The default parameters. */
    public ImageParameters parameters() {
        return new ImageParameters(model, size, quality, background, outputFormat, outputCompression, moderation, n,
                inputFidelity);
    }
}
