package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;

/**
 * Send jobs that left the dispatcher (released, or expired) back to {@code queued}. A client's
 * retry of failed or expired items leaves {@code attempt} and {@code notBefore} out: the jobs start
 * again at attempt 1 with fresh attempts, at once. A worker's retry after a transient failure
 * names the next attempt and when it is due. Either way a due retry is released ahead of fresh work.
 *
 * @param batchId     the batch, also the Kafka key
 * @param tenant      the batch's owner
 * @param jobIds      the jobs to retry; ids the dispatcher does not hold are ignored
 * @param attempt     the attempt to release them at; 1 when absent
 * @param notBefore   not released before this time; at once when absent
 * @param requestedAt when it was asked for
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RetryRequested(String batchId, String tenant, List<String> jobIds, Integer attempt,
                             Instant notBefore, Instant requestedAt) implements BatchCommand {

    public RetryRequested {
        jobIds = jobIds == null ? List.of() : List.copyOf(jobIds);
    }

    /** A client's retry of {@code jobIds}: attempt 1, at once. */
    public static RetryRequested fresh(String batchId, String tenant, List<String> jobIds, Instant at) {
        return new RetryRequested(batchId, tenant, jobIds, null, null, at);
    }
}
