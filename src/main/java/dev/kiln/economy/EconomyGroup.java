package dev.kiln.economy;

import dev.kiln.job.RenderJobRequested;

import java.time.Instant;
import java.util.List;

/**
 * One group of economy jobs and the provider batch that renders them: the value on
 * {@code kiln.provider-batches}, keyed by {@link #groupId}. Its states are written in order:
 * {@code submitting} before the input file goes up, {@code submitted} with the provider batch id
 * once the batch exists (only then are the jobs acknowledged on {@code kiln.jobs}), and
 * {@code ended} once every result was handed to the worker.
 *
 * @param groupId         Kiln's id for the group, also the provider batch's {@code kiln_group} metadata
 * @param owner           the worker instance ({@code KILN_INSTANCE_ID}) that polls it
 * @param state           {@code submitting}, {@code submitted} or {@code ended}
 * @param providerBatchId the OpenAI batch id, once created
 * @param jobs            the jobs, each with the custom_id = its job id
 * @param at              when this state was written
 */
public record EconomyGroup(String groupId, String owner, String state, String providerBatchId,
                           List<RenderJobRequested> jobs, Instant at) {

    static final String SUBMITTING = "submitting";
    static final String SUBMITTED = "submitted";
    static final String ENDED = "ended";

    EconomyGroup in(String newState, String batchId) {
        return new EconomyGroup(groupId, owner, newState, batchId, jobs, Instant.now());
    }
}
