package dev.kiln.status;

import dev.kiln.job.JobState;
import dev.kiln.job.Usage;

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
 */
public record BatchStatus(String id, String externalId, String state, int items, long images,
                          Map<String, Integer> counts, Usage usage, Instant createdAt, Instant updatedAt,
                          Instant finishedAt) {

    /** The response for a view. */
    public static BatchStatus of(BatchView view) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (JobState s : JobState.values()) {
            counts.put(s.wireName(), view.counts().getOrDefault(s, 0));
        }
        return new BatchStatus(view.id(), view.externalId(), view.state().wireName(), view.items(), view.images(),
                counts, view.usage(), view.createdAt(), view.updatedAt(), view.finishedAt());
    }
}
