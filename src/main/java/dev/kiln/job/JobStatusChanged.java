package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The event on {@code kiln.status} for one job's state change.
 *
 * @param jobId   the job
 * @param batchId the batch, also the Kafka key
 * @param tenant  the owner
 * @param itemId  the client's item id
 * @param index   the item's position in the batch
 * @param state   the new state
 * @param attempt the attempt this state belongs to
 * @param outputs stored images, on {@code succeeded}
 * @param error   why, on {@code failed} (and on {@code queued} after a retryable error)
 * @param usage   what the render consumed, on {@code succeeded}
 * @param at       when it happened
 * @param metadata the client's item metadata, on the job's first {@code queued} event only (the
 *                 status view keeps it from there)
 * @param worker   on {@code running}: the worker instance that holds the job ({@code KILN_INSTANCE_ID}),
 *                 so that a job left running by a dead worker says whose it was
 * @param since    on {@code running}: since when that worker holds it
 * @param cached   on {@code succeeded}: true when the render cache served the job (copied outputs, zero cost);
 *                 absent otherwise
 * @param renderKey on {@code succeeded} of a job the provider rendered: the render key its outputs were
 *                  recorded under in the tenant's render cache; absent when the job did not use the cache or
 *                  was served from it. The dispatcher learns from it which renders each tenant has stored
 * @param referenceSha256s with {@code renderKey}, for an edit: the SHA-256 of each reference and of the mask,
 *                  by the object key the job named it by, so that the dispatcher can key later edits of the
 *                  same objects; absent for a generation
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobStatusChanged(
        String jobId,
        String batchId,
        String tenant,
        String itemId,
        int index,
        JobState state,
        int attempt,
        List<JobOutput> outputs,
        JobError error,
        Usage usage,
        Instant at,
        Map<String, Object> metadata,
        String worker,
        Instant since,
        Boolean cached,
        String renderKey,
        Map<String, String> referenceSha256s) {

    /** An event without a render key. */
    public JobStatusChanged(String jobId, String batchId, String tenant, String itemId, int index, JobState state,
                            int attempt, List<JobOutput> outputs, JobError error, Usage usage, Instant at,
                            Map<String, Object> metadata, String worker, Instant since, Boolean cached) {
        this(jobId, batchId, tenant, itemId, index, state, attempt, outputs, error, usage, at, metadata, worker, since,
                cached, null, null);
    }

    /** An event that the render cache did not serve. */
    public JobStatusChanged(String jobId, String batchId, String tenant, String itemId, int index, JobState state,
                            int attempt, List<JobOutput> outputs, JobError error, Usage usage, Instant at,
                            Map<String, Object> metadata, String worker, Instant since) {
        this(jobId, batchId, tenant, itemId, index, state, attempt, outputs, error, usage, at, metadata, worker, since, null);
    }

    /** Whether the render cache served this job. */
    public boolean servedFromCache() {
        return Boolean.TRUE.equals(cached);
    }

    /** This event marked as served from the render cache. */
    public JobStatusChanged withCached() {
        return new JobStatusChanged(jobId, batchId, tenant, itemId, index, state, attempt, outputs, error, usage, at,
                metadata, worker, since, Boolean.TRUE, renderKey, referenceSha256s);
    }

    /** An event without metadata or holder, as most events are. */
    public JobStatusChanged(String jobId, String batchId, String tenant, String itemId, int index, JobState state,
                            int attempt, List<JobOutput> outputs, JobError error, Usage usage, Instant at) {
        this(jobId, batchId, tenant, itemId, index, state, attempt, outputs, error, usage, at, null, null, null);
    }

    /** The CloudEvents type of this event, e.g. {@code kiln.job.succeeded}. */
    public String eventType() {
        return EventTypes.job(state);
    }

    /** The event for {@code job} entering {@code state}, with nothing attached. */
    public static JobStatusChanged of(RenderJobRequested job, JobState state) {
        return new JobStatusChanged(job.jobId(), job.batchId(), job.tenant(), job.itemId(), job.index(),
                state, job.attempt(), null, null, null, Instant.now());
    }

    /** The event that announces a newly accepted job, with the client's item metadata. */
    public static JobStatusChanged accepted(RenderJobRequested job) {
        return new JobStatusChanged(job.jobId(), job.batchId(), job.tenant(), job.itemId(), job.index(),
                JobState.QUEUED, job.attempt(), null, null, null, Instant.now(),
                job.metadata() == null || job.metadata().isEmpty() ? null : job.metadata(), null, null);
    }

    /** This event with a failure reason. */
    public JobStatusChanged withError(JobError reason) {
        return new JobStatusChanged(jobId, batchId, tenant, itemId, index, state, attempt, outputs, reason, usage, at,
                metadata, worker, since, cached, renderKey, referenceSha256s);
    }

    /** This event with outputs and usage. */
    public JobStatusChanged withResult(List<JobOutput> images, Usage consumed) {
        return new JobStatusChanged(jobId, batchId, tenant, itemId, index, state, attempt, images, error, consumed, at,
                metadata, worker, since, cached, renderKey, referenceSha256s);
    }

    /**
     * This event naming the render key its outputs were recorded under, and the digests of the
     * references and mask that went into it (empty for a generation).
     */
    public JobStatusChanged withRenderKey(RenderKey key, Map<String, String> sha256ByReference) {
        return new JobStatusChanged(jobId, batchId, tenant, itemId, index, state, attempt, outputs, error, usage, at,
                metadata, worker, since, cached, key.hex(),
                sha256ByReference == null || sha256ByReference.isEmpty() ? null : Map.copyOf(sha256ByReference));
    }

    /** This event naming the worker that holds the job and since when. */
    public JobStatusChanged withHolder(String holder, Instant heldSince) {
        return new JobStatusChanged(jobId, batchId, tenant, itemId, index, state, attempt, outputs, error, usage, at,
                metadata, holder, heldSince, cached, renderKey, referenceSha256s);
    }
}
