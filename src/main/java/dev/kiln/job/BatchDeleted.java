package dev.kiln.job;

import java.time.Instant;

/**
 * A batch was deleted: the event on {@code kiln.status} (type {@code kiln.batch.deleted}, keyed by
 * batch id) after which the status view no longer knows the batch, its jobs or its items. Its
 * objects are deleted from S3 by whoever published it, and again later for renders that were in
 * flight at the time.
 *
 * @param batchId   the batch, also the Kafka key
 * @param tenant    its owner
 * @param reason    {@code deleted} (the tenant asked) or {@code retention} (it ended longer ago than {@code KILN_RETENTION})
 * @param deletedAt when
 */
public record BatchDeleted(String batchId, String tenant, String reason, Instant deletedAt) {

    /** The tenant deleted it with {@code DELETE /v1/batches/{id}}. */
    public static final String BY_TENANT = "deleted";
    /** It ended longer ago than {@code KILN_RETENTION}. */
    public static final String BY_RETENTION = "retention";
}
