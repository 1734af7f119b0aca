package dev.kiln.batch;

import dev.kiln.job.ImageParameters;

import java.util.List;
import java.util.Map;

/**
 * One catalogue item of a batch: the client's id, the prompt, and any Images API parameter
 * that differs from the batch defaults.
 *
 * @param id                the client's own id, such as a SKU; unique in the batch
 * @param prompt            what to render, 1 to 32,000 characters
 * @param model             overrides the default model
 * @param size              overrides the default size
 * @param quality           overrides the default quality
 * @param background        overrides the default background
 * @param outputFormat      overrides the default format
 * @param outputCompression overrides the default compression
 * @param moderation        overrides the default moderation
 * @param n                 overrides the default image count
 * @param inputFidelity     overrides the default input fidelity (edits)
 * @param referenceImages   images to edit from
 * @param mask              mask of the first reference image
 * @param metadata          passed through to the results untouched
 */
public record BatchItem(
        String id,
        String prompt,
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
        String mask,
        Map<String, Object> metadata) {

    /** The parameters this item sets itself. */
    public ImageParameters parameters() {
        return new ImageParameters(model, size, quality, background, outputFormat, outputCompression, moderation, n,
                inputFidelity);
    }
}
