package dev.kiln.dispatch;

import java.util.Map;

/**
 * What the dispatch task learns from {@code kiln.status}: a job's final event, as the budget
 * ledgers and the known renders need it, or a batch's deletion. Read by {@link SettlementReader}
 * and handed to the dispatch task through the repartition topic
 * {@code <application id>-dispatch-settlements-repartition} (one partition: the one task).
 *
 * @param batchId          its batch, also the key
 * @param jobId            the job; null for a batch's deletion
 * @param attempt          the attempt that ended
 * @param costUsd          what it cost: the actual cost of a success (zero from the render cache), else 0
 * @param tenant           the batch's owner; null in records written before the field existed
 * @param renderKey        on a success the provider rendered: the render key the tenant's render cache now holds it
 *                         under; null otherwise (a failure, a cache hit, a job that did not use the cache)
 * @param referenceSha256s with {@code renderKey}, for an edit: the digest of each reference and of the mask, by object key
 * @param batchDeleted     true when the batch was deleted: its objects are gone, so are its renders from the cache
 * @param images           images the provider rendered for a success (0 for the render cache's copies and anything else),
 *                         for the tenant's month
 */
record JobSettled(String batchId, String jobId, int attempt, double costUsd, String tenant, String renderKey,
                  Map<String, String> referenceSha256s, boolean batchDeleted, long images) {

    /** A job's final event that stored no render the dispatcher needs to know of. */
    JobSettled(String batchId, String jobId, int attempt, double costUsd) {
        this(batchId, jobId, attempt, costUsd, null, null, null, false, 0);
    }

    /** {@code tenant}'s batch {@code batchId} was deleted. */
    static JobSettled deleted(String batchId, String tenant) {
        return new JobSettled(batchId, null, 0, 0, tenant, null, null, true, 0);
    }
}
