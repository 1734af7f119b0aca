package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;

/**
 * Cancel a whole batch, or one of its jobs. Pending items end {@code cancelled} without ever
 * reaching {@code kiln.jobs}; a worker that tails {@code kiln.control} skips released jobs it has
 * not started ({@link #covers}); renders in flight finish and are kept.
 *
 * @param batchId     the batch, also the Kafka key
 * @param tenant      the batch's owner
 * @param jobId       the one job to cancel; the whole batch when absent
 * @param reason      a machine code for the {@code cancelled} events' error, such as {@code budget_exceeded}; none for a client's cancel
 * @param requestedAt when it was asked for
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CancelRequested(String batchId, String tenant, String jobId, String reason, Instant requestedAt)
        implements BatchCommand {

    /** Cancels every item of a batch that has not started. */
    public static CancelRequested batch(String batchId, String tenant, Instant at) {
        return new CancelRequested(batchId, tenant, null, null, at);
    }

    /** Cancels one job, unless it has started. */
    public static CancelRequested job(String batchId, String tenant, String jobId, Instant at) {
        return new CancelRequested(batchId, tenant, jobId, null, at);
    }

    /** Whether this cancel stops {@code job}: the whole batch, or that very job. */
    public boolean covers(RenderJobRequested job) {
        return batchId.equals(job.batchId()) && (jobId == null || jobId.equals(job.jobId()));
    }
}
