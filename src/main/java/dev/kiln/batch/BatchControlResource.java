package dev.kiln.batch;

import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.net.URI;

/**
 * {@code POST /v1/batches/{id}/cancel}, {@code /v1/jobs/{id}/cancel}, {@code /v1/batches/{id}/retry}
 * and {@code /v1/jobs/{id}/retry}: 202 once the command is on {@code kiln.control}; 404 for an
 * unknown id; 409 when the state does not allow it.
 */
@Path("/v1")
@Produces({MediaType.APPLICATION_JSON, "application/problem+json"})
public class BatchControlResource {

    private final BatchControl control;

    public BatchControlResource(BatchControl control) {
        this.control = control;
    }

    @POST
    @Path("/batches/{id}/cancel")
    @Blocking
    public Response cancelBatch(@PathParam("id") String id) {
        return accepted(control.cancelBatch(id));
    }

    @POST
    @Path("/jobs/{id}/cancel")
    @Blocking
    public Response cancelJob(@PathParam("id") String id) {
        return accepted(control.cancelJob(id));
    }

    @POST
    @Path("/batches/{id}/retry")
    @Blocking
    public Response retryBatch(@PathParam("id") String id) {
        return accepted(control.retryBatch(id));
    }

    @POST
    @Path("/jobs/{id}/retry")
    @Blocking
    public Response retryJob(@PathParam("id") String id) {
        return accepted(control.retryJob(id));
    }

    private static Response accepted(BatchControl.Accepted accepted) {
        String location = accepted.jobId() == null ? "/v1/batches/" + accepted.batchId() : "/v1/jobs/" + accepted.jobId();
        return Response.accepted(accepted).location(URI.create(location)).build();
    }
}
