package dev.kiln.status;

import dev.kiln.job.BatchDeleted;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * {@code DELETE /v1/batches/{id}}: a tenant's data is its own to delete. Cancels what is pending,
 * deletes the batch's objects and manifest, and forgets it: 204, after which every path of the
 * batch answers 404. Another tenant's id (and a deleted batch's) answers 404 like a missing one.
 */
@Path("/v1")
@Produces({MediaType.APPLICATION_JSON, "application/problem+json"})
public class BatchDeleteResource {

    private final OwnedStatus owned;
    private final BatchDeletion deletion;
    private final StatusView view;

    public BatchDeleteResource(OwnedStatus owned, BatchDeletion deletion, StatusView view) {
        this.owned = owned;
        this.deletion = deletion;
        this.view = view;
    }

    @DELETE
    @Path("/batches/{id}")
    @Blocking
    public Response delete(@PathParam("id") String id) {
        BatchView batch = owned.requireOwnedBatch(id);
        deletion.delete(batch, BatchDeleted.BY_TENANT);
        view.awaitForgotten(batch.id());
        return Response.noContent().build();
    }
}
