package dev.kiln.provider;

import java.util.Map;
import java.util.Set;

/**
 * A Batch API batch as the provider reports it ({@code GET /v1/batches/{id}}).
 *
 * @param id           the provider's batch id ({@code batch_…})
 * @param status       {@code validating}, {@code in_progress}, {@code finalizing}, {@code completed},
 *                     {@code failed}, {@code expired}, {@code cancelling} or {@code cancelled}
 * @param outputFileId the file of successful results, once there is one
 * @param errorFileId  the file of failed requests, once there is one
 * @param metadata     the metadata Kiln gave at creation
 */
public record ProviderBatchState(String id, String status, String outputFileId, String errorFileId,
                                 Map<String, String> metadata) {

    private static final Set<String> FINAL = Set.of("completed", "failed", "expired", "cancelled");

    /** Whether the batch will not change any more: its files, if any, are complete. */
    public boolean isFinal() {
        return FINAL.contains(status);
    }
}
