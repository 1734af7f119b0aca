package dev.kiln.batch;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * The body of {@code POST /v1/batches}.
 *
 * @param externalId the client's own id for the batch
 * @param defaults   parameters every item inherits
 * @param items      the catalogue items, one job each
 * @param webhook    URL to call when the batch ends
 * @param cache      {@code false} opts the batch out of the render cache; absent means true
 */
public record BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, String webhook,
                           @JsonInclude(JsonInclude.Include.NON_NULL) Boolean cache) {

    public BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, String webhook) {
        this(externalId, defaults, items, webhook, null);
    }

    /** Whether the batch uses the render cache. */
    public boolean usesCache() {
        return cache == null || cache;
    }
}
