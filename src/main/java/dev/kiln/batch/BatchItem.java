package dev.kiln.batch;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.kiln.job.ImageParameters;

import java.util.List;
import java.util.Map;

/**
 * One catalogue item of a batch: the client's id, the prompt, and any Images API parameter
 * that differs from the batch defaults, written beside them in the item's JSON.
 *
 * @param id              the client's own id, such as a SKU; unique in the batch
 * @param prompt          what to render, 1 to 32,000 characters
 * @param parameters      the parameters this item sets itself (never null once read)
 * @param referenceImages images to edit from
 * @param mask            mask of the first reference image
 * @param metadata        returned with the item and the job, untouched
 */
public record BatchItem(
        String id,
        String prompt,
        @JsonUnwrapped ImageParameters parameters,
        List<String> referenceImages,
        String mask,
        Map<String, Object> metadata) {

    public BatchItem {
        parameters = parameters == null ? ImageParameters.NONE : parameters;
    }
}
