package dev.kiln.dispatch;

import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;

/**
 * A job that left the pending store, released or expired: the value of the released store,
 * kept until the batch's retention ends so that a retry can send it back.
 *
 * @param job           the job as it was released (or would have been)
 * @param priority      its batch's priority
 * @param batchSequence the order its batch arrived in
 * @param leftAtMs      when it left
 * @param expired       true when its deadline passed before release
 * @param paidAttempt   the latest attempt whose paid success its tenant's month has counted; null for none,
 *                      so that a repeated {@code succeeded} event (a redelivered job announces itself again) is counted once
 */
record LeftJob(RenderJobRequested job, Priority priority, long batchSequence, long leftAtMs, boolean expired,
               Integer paidAttempt) {

    LeftJob(RenderJobRequested job, Priority priority, long batchSequence, long leftAtMs, boolean expired) {
        this(job, priority, batchSequence, leftAtMs, expired, null);
    }

    /** Whether a paid success of {@code attempt} is still to be counted. */
    boolean unpaid(int attempt) {
        return paidAttempt == null || paidAttempt < attempt;
    }

    /** This job once the paid success of {@code attempt} was counted. */
    LeftJob paidAt(int attempt) {
        return new LeftJob(job, priority, batchSequence, leftAtMs, expired, attempt);
    }
}
