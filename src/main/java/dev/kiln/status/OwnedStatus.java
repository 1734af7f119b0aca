package dev.kiln.status;

import dev.kiln.job.JobIds;
import dev.kiln.job.NotFoundException;
import dev.kiln.tenant.CurrentTenant;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The one door from the status REST paths (GET, items, item by id, events, manifest, list) to
 * the status view: a batch or job is found only when it belongs to the calling tenant
 * ({@link CurrentTenant}), and another tenant's id gets the very same 404 as an id that does not
 * exist, so ids cannot be probed. Every path passes here; ArchitectureTest forbids the REST side
 * to call the view's unscoped reads, so a new path cannot forget the rule.
 */
@ApplicationScoped
public class OwnedStatus {

    private final StatusView view;
    private final CurrentTenant caller;

    public OwnedStatus(StatusView view, CurrentTenant caller) {
        this.view = view;
        this.caller = caller;
    }

    /** The calling tenant. */
    public String tenant() {
        return caller.id();
    }

    /** The caller's batch {@code id}, or 404. */
    public BatchView requireOwnedBatch(String id) {
        String tenant = caller.id();
        return view.batch(id).filter(b -> b.isOwnedBy(tenant)).orElseThrow(() -> notFound("batch", id));
    }

    /** The caller's job {@code id}, or 404; a job belongs to its batch's tenant. */
    public JobView requireOwnedJob(String id) {
        String tenant = caller.id();
        return JobIds.batchIdOf(id)
                .flatMap(view::batch)
                .filter(b -> b.isOwnedBy(tenant))
                .flatMap(b -> view.job(id))
                .orElseThrow(() -> notFound("job", id));
    }

    /** The caller's batch of job {@code id}, or 404 (naming the job), whether or not the job exists. */
    public BatchView requireOwnedBatchOfJob(String id) {
        String tenant = caller.id();
        return JobIds.batchIdOf(id)
                .flatMap(view::batch)
                .filter(b -> b.isOwnedBy(tenant))
                .orElseThrow(() -> notFound("job", id));
    }

    /** The same answer for a missing id and another tenant's. */
    static NotFoundException notFound(String what, String id) {
        return new NotFoundException(what, id);
    }
}
