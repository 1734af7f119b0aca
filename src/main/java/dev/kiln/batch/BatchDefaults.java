package dev.kiln.batch;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.kiln.job.ImageParameters;

import java.util.List;

/**
 * What every item of a batch inherits unless it sets its own: any Images API parameter, written
 * directly in {@code defaults}, and the references of a series.
 *
 * @param parameters      the default parameters (never null once read); the model defaults to
 *                        {@code kiln.intake.default-model}
 * @param referenceImages references every item edits from (series consistency)
 * @param mask            default mask
 */
public record BatchDefaults(
        @JsonUnwrapped ImageParameters parameters,
        List<String> referenceImages,
        String mask) {

    /** No defaults. */
    public static final BatchDefaults NONE = new BatchDefaults(ImageParameters.NONE, null, null);

    public BatchDefaults {
        parameters = parameters == null ? ImageParameters.NONE : parameters;
    }
}
