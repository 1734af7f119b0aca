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
 */
record LeftJob(RenderJobRequested job, Priority priority, long batchSequence, long leftAtMs, boolean expired) {
}
