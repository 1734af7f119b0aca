package dev.kiln.batch;

import java.util.List;

/**
 * The body of {@code POST /v1/batches}.
 *
 * @param externalId the client's own id for the batch
 * @param defaults   parameters every item inherits
 * @param items      the catalogue items, one job each
 * @param webhook    URL to call when the batch ends
 */
public record BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, String webhook) {
}
