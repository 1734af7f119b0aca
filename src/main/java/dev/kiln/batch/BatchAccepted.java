package dev.kiln.batch;

import java.time.Instant;

/**
 * The body of a 202 to {@code POST /v1/batches}.
 *
 * @param id         batch id
 * @param externalId the client's own id
 * @param state      {@code queued} on acceptance
 * @param items      jobs created
 * @param images     images asked for
 * @param createdAt  when accepted
 * @param replayed   true when an idempotent replay returned an earlier batch
 */
public record BatchAccepted(String id, String externalId, String state, int items, long images, Instant createdAt,
                            boolean replayed) {
}
