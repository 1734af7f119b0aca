package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;

/**
 * A chunk of an accepted batch's jobs on {@code kiln.items}, keyed by batch id. Intake writes a
 * batch as one or more chunks in the transaction that accepts it, jobs in item order; the
 * dispatcher holds them until their turn and then releases each, unchanged, to {@code kiln.jobs}.
 * Tenant weights are not carried here: the dispatcher looks them up when it releases, so a
 * changed quota applies to the backlog at once.
 *
 * @param batchId  the batch, also the Kafka key
 * @param tenant   the owner; fair share is counted per tenant
 * @param priority the batch's priority; {@code normal} when absent
 * @param deadline when its items that have not started by then end {@code expired}; none when absent
 * @param jobs     the jobs of this chunk, each with attempt 1, in item order
 * @param budgetUsd  the batch's {@code budget_usd}; none when absent. The dispatcher reserves
 *                   {@code jobCostUsd} for each job it releases and releases none past this
 * @param jobCostUsd the upper cost estimate of the batch's dearest job, in USD, reserved for each
 *                   of its jobs of the batch's budget and of its tenant's monthly budget; present when
 *                   the batch has a {@code budgetUsd} or its tenant had a {@code monthly_budget_usd} at intake
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobsStaged(
        String batchId,
        String tenant,
        Priority priority,
        Instant deadline,
        List<RenderJobRequested> jobs,
        Double budgetUsd,
        Double jobCostUsd) {

    public JobsStaged {
        priority = priority == null ? Priority.NORMAL : priority;
        jobs = jobs == null ? List.of() : List.copyOf(jobs);
    }

    /** A chunk of a batch without a budget. */
    public JobsStaged(String batchId, String tenant, Priority priority, Instant deadline, List<RenderJobRequested> jobs) {
        this(batchId, tenant, priority, deadline, jobs, null, null);
    }

    /** How many images the chunk asks for. */
    public long images() {
        return jobs.stream().mapToLong(RenderJobRequested::imageCount).sum();
    }
}
