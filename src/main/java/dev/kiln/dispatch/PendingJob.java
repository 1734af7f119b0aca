package dev.kiln.dispatch;

import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;

import java.time.Instant;

/**
 * A job held by the dispatcher until its turn: the value of the pending store.
 *
 * @param job           the job as it will be released, attempt included
 * @param priority      its batch's priority
 * @param deadline      when it expires if not released; none for retries, which a client asked for after the fact
 * @param batchSequence the order its batch arrived in
 * @param stagedAtMs    when it was staged (or re-queued), for the dwell time
 * @param retry         whether it is a retry
 * @param dueAtMs       when a retry may go; 0 for at once
 * @param traceparent   the W3C trace context of the request that staged it, so that the release
 *                      continues the POST's trace; null when it was not traced
 */
record PendingJob(RenderJobRequested job, Priority priority, Instant deadline, long batchSequence,
                  long stagedAtMs, boolean retry, long dueAtMs, String traceparent) {

    /** A job staged or re-queued without a trace context. */
    PendingJob(RenderJobRequested job, Priority priority, Instant deadline, long batchSequence,
               long stagedAtMs, boolean retry, long dueAtMs) {
        this(job, priority, deadline, batchSequence, stagedAtMs, retry, dueAtMs, null);
    }

    /** The scheduler's view of this job. */
    Scheduler.Item item() {
        return new Scheduler.Item(job.batchId(), job.tenant(), priority, job.index(), job.imageCount(),
                retry, dueAtMs, batchSequence);
    }
}
