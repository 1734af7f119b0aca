package dev.kiln.dispatch;

import dev.kiln.job.Priority;

import java.time.Instant;

/**
 * What the dispatcher remembers of a batch: the value of the batches store.
 *
 * @param batchId     the batch
 * @param tenant      its owner
 * @param priority    its priority
 * @param deadline    its deadline, if any
 * @param sequence    the order it arrived in, for the round-robin rings
 * @param cancelled   whether a cancel of the whole batch arrived; items staged later end cancelled at once
 * @param touchedAtMs the last time it was staged, cancelled or retried; its clean-up counts from here
 * @param jobCostUsd  the upper cost estimate of its dearest job, which each release reserves of its tenant's
 *                    month; null when intake gave none (no {@code budget_usd} and no monthly budget then)
 */
record BatchEntry(String batchId, String tenant, Priority priority, Instant deadline, long sequence,
                  boolean cancelled, long touchedAtMs, Double jobCostUsd) {

    BatchEntry(String batchId, String tenant, Priority priority, Instant deadline, long sequence,
               boolean cancelled, long touchedAtMs) {
        this(batchId, tenant, priority, deadline, sequence, cancelled, touchedAtMs, null);
    }

    BatchEntry touched(long nowMs) {
        return new BatchEntry(batchId, tenant, priority, deadline, sequence, cancelled, nowMs, jobCostUsd);
    }

    BatchEntry cancelledAt(long nowMs) {
        return new BatchEntry(batchId, tenant, priority, deadline, sequence, true, nowMs, jobCostUsd);
    }

    /** This batch with its job estimate, once a chunk carried one. */
    BatchEntry withJobCost(Double usd) {
        return usd == null || jobCostUsd != null ? this
                : new BatchEntry(batchId, tenant, priority, deadline, sequence, cancelled, touchedAtMs, usd);
    }
}
