package dev.kiln.status;

import dev.kiln.job.JobError;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.JobOutput;
import dev.kiln.job.Usage;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the status view knows of one job.
 *
 * @param id         job id
 * @param batchId    its batch
 * @param itemId     the client's item id
 * @param index      position in the batch
 * @param state      current state
 * @param attempt    current attempt, from 1
 * @param error      last error, if any
 * @param outputs    stored images, once succeeded
 * @param usage      usage and cost, once succeeded
 * @param createdAt  when queued
 * @param startedAt  when the current attempt started running
 * @param finishedAt when it ended
 * @param metadata   the client's item metadata, from the job's first event
 * @param cached     true when the render cache served the job's success; absent otherwise
 */
public record JobView(
        String id,
        String batchId,
        String itemId,
        int index,
        JobState state,
        int attempt,
        JobError error,
        List<JobOutput> outputs,
        Usage usage,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        Map<String, Object> metadata,
        Boolean cached) {

    /** The view of a job first heard of through {@code event}. */
    public static JobView from(JobStatusChanged event) {
        return new JobView(event.jobId(), event.batchId(), event.itemId(), event.index(), event.state(),
                event.attempt(), event.error(), event.outputs(), event.usage(), event.at(),
                event.state() == JobState.RUNNING ? event.at() : null,
                event.state().isTerminal() ? event.at() : null,
                event.metadata(), event.servedFromCache() ? Boolean.TRUE : null);
    }

    /** This job after {@code event}, keeping what the event does not restate. */
    public JobView apply(JobStatusChanged event) {
        JobState next = event.state();
        return new JobView(id, batchId, itemId, index, next, event.attempt(),
                next == JobState.SUCCEEDED ? null : (event.error() != null ? event.error() : error),
                event.outputs() != null ? event.outputs() : outputs,
                event.usage() != null ? event.usage() : usage,
                createdAt,
                next == JobState.RUNNING ? event.at() : startedAt,
                next.isTerminal() ? event.at() : null,
                event.metadata() != null ? event.metadata() : metadata,
                next == JobState.SUCCEEDED && event.servedFromCache() ? Boolean.TRUE
                        : next == JobState.SUCCEEDED || next == JobState.QUEUED ? null : cached);
    }
}
