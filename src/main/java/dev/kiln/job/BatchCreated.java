package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;

/**
 * The event on {@code kiln.status} that opens a batch, published before any of its jobs.
 *
 * @param batchId        the batch, also the Kafka key
 * @param tenant         the owner
 * @param externalId     the client's own id for the batch, if given
 * @param items          how many items (jobs) it has
 * @param images         how many images it asks for in all
 * @param requestSha256  digest of the request body, to tell a replay from a different request under one idempotency key
 * @param webhook        where to call, and for which events, if given
 * @param createdAt      when it was accepted
 * @param budgetUsd      the batch's {@code budget_usd}, if given
 * @param jobCostUsd     the upper cost estimate of the batch's dearest job, which the budget guard
 *                       reserves for every job that starts (for {@code budget_usd} and the tenant's
 *                       {@code monthly_budget_usd}); absent for an NDJSON catalogue
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BatchCreated(
        String batchId,
        String tenant,
        String externalId,
        int items,
        long images,
        String requestSha256,
        WebhookSubscription webhook,
        Instant createdAt,
        Double budgetUsd,
        Double jobCostUsd) {

    /** A batch without a budget. */
    public BatchCreated(String batchId, String tenant, String externalId, int items, long images, String requestSha256,
                        WebhookSubscription webhook, Instant createdAt) {
        this(batchId, tenant, externalId, items, images, requestSha256, webhook, createdAt, null, null);
    }
}
