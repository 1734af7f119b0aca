package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;

/**
 * Send jobs that left the dispatcher (released, or expired) back to {@code queued}. Two senders:
 * <ul>
 *   <li>a client's retry of failed or expired items leaves {@code attempt}, {@code notBefore} and
 *       {@code job} out: each job goes on at its next attempt number with a fresh round of
 *       attempts, at once;</li>
 *   <li>a worker's retry after a transient failure names the next attempt, when it is due, and
 *       carries the job itself, so that a job the dispatcher never released (put on
 *       {@code kiln.jobs} by hand or by an older version) is retried too.</li>
 * </ul>
 * Either way a due retry is released ahead of fresh work of its priority.
 *
 * @param batchId     the batch, also the Kafka key
 * @param tenant      the batch's owner
 * @param jobIds      the jobs to retry; ids the dispatcher does not hold are ignored (unless {@code job} is given)
 * @param attempt     the attempt to release them at; absent for a client's retry (the next attempt, a fresh round)
 * @param notBefore   not released before this time; at once when absent
 * @param requestedAt when it was asked for
 * @param job         a worker's retry: the job at the attempt to release; absent for a client's retry
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RetryRequested(String batchId, String tenant, List<String> jobIds, Integer attempt,
                             Instant notBefore, Instant requestedAt, RenderJobRequested job) implements BatchCommand {

    public RetryRequested {
        jobIds = jobIds == null ? List.of() : List.copyOf(jobIds);
    }

    /** A retry of {@code jobIds} without the job itself. */
    public RetryRequested(String batchId, String tenant, List<String> jobIds, Integer attempt, Instant notBefore,
                          Instant requestedAt) {
        this(batchId, tenant, jobIds, attempt, notBefore, requestedAt, null);
    }

    /** A client's retry of {@code jobIds}: the next attempt, a fresh round, at once. */
    public static RetryRequested fresh(String batchId, String tenant, List<String> jobIds, Instant at) {
        return new RetryRequested(batchId, tenant, jobIds, null, null, at, null);
    }

    /** A worker's retry of {@code next} (the job already at its next attempt), due at {@code notBefore}. */
    public static RetryRequested afterFailure(RenderJobRequested next, Instant notBefore, Instant at) {
        return new RetryRequested(next.batchId(), next.tenant(), List.of(next.jobId()), next.attempt(), notBefore, at, next);
    }

    /** Whether a worker sent it after a failed attempt (rather than a client asking for it). */
    public boolean afterFailedAttempt() {
        return attempt != null;
    }
}
