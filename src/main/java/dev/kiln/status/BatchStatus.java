package dev.kiln.status;

import dev.kiln.job.JobState;
import dev.kiln.job.Usage;
import dev.kiln.job.WebhookDeliveryLog;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The body of {@code GET /v1/batches/{id}}.
 *
 * @param id         batch id
 * @param externalId the client's own id
 * @param state      batch state
 * @param items      number of items (jobs)
 * @param images     images asked for
 * @param counts     jobs per state, every state listed
 * @param usage      summed usage and cost
 * @param createdAt  when accepted
 * @param updatedAt  last change
 * @param finishedAt when the last job ended
 * @param webhook    the batch's webhook and its delivery log; absent without a webhook, and in the batch list
 */
public record BatchStatus(String id, String externalId, String state, int items, long images,
                          Map<String, Integer> counts, Usage usage, Instant createdAt, Instant updatedAt,
                          Instant finishedAt, BatchWebhook webhook) {

    /** The response for a view, with the batch's webhook deliveries from {@code log}. */
    public static BatchStatus of(BatchView view, WebhookDeliveryLog log) {
        BatchStatus status = of(view);
        BatchWebhook webhook = view.webhook() == null ? null
                : BatchWebhook.of(view.webhook(), log.deliveries(view.id(), BatchWebhook.SHOWN));
        return new BatchStatus(status.id(), status.externalId(), status.state(), status.items(), status.images(),
                status.counts(), status.usage(), status.createdAt(), status.updatedAt(), status.finishedAt(), webhook);
    }

    /** The response for a view, without the delivery log (the batch list). */
    public static BatchStatus of(BatchView view) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (JobState s : JobState.values()) {
            counts.put(s.wireName(), view.counts().getOrDefault(s, 0));
        }
        return new BatchStatus(view.id(), view.externalId(), view.state().wireName(), view.items(), view.images(),
                counts, view.usage(), view.createdAt(), view.updatedAt(), view.finishedAt(), null);
    }
}
