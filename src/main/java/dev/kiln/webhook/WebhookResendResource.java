package dev.kiln.webhook;

import dev.kiln.job.BatchLookup;
import dev.kiln.job.ConflictException;
import dev.kiln.job.NotFoundException;
import dev.kiln.tenant.CurrentTenant;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.net.URI;

/**
 * {@code POST /v1/batches/{id}/webhook/resend}: sends a finished batch's {@code batch.completed}
 * delivery again by hand, with the same {@code webhook-id} and the retry schedule started over.
 * 202 once the command is on {@code kiln.webhooks} (acks=all); another tenant's batch is 404 like a
 * missing one; a batch that has not finished, or has no webhook, is 409.
 */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class WebhookResendResource {

    private final BatchLookup batches;
    private final CurrentTenant caller;
    private final WebhookDeliveries deliveries;

    public WebhookResendResource(BatchLookup batches, CurrentTenant caller, WebhookDeliveries deliveries) {
        this.batches = batches;
        this.caller = caller;
        this.deliveries = deliveries;
    }

    /**
     * What the resend answered.
     *
     * @param batchId   the batch
     * @param eventType the event sent again
     * @param resent    true: the delivery is due again now
     */
    public record ResendAccepted(String batchId, String eventType, boolean resent) {
    }

    /** Sends the batch's {@code batch.completed} delivery again. */
    @POST
    @Path("/batches/{id}/webhook/resend")
    public Response resend(@PathParam("id") String id) {
        BatchLookup.KnownBatch batch = batches.find(id).filter(b -> caller.id().equals(b.tenant()))
                .orElseThrow(() -> new NotFoundException("batch", id));
        if (!batch.state().isTerminal()) {
            throw new ConflictException("batch-not-finished", "batch " + id + " is " + batch.state().wireName()
                    + "; its batch.completed webhook exists only once it has finished");
        }
        if (!deliveries.resend(id)) {
            throw new ConflictException("no-webhook-delivery", "batch " + id
                    + " has no batch.completed delivery: it was submitted without a webhook, or its webhook's events"
                    + " leave batch.completed out (or it finished a moment ago; try again in a second)");
        }
        return Response.accepted(new ResendAccepted(id, WebhookEvents.BATCH_COMPLETED, true))
                .location(URI.create("/v1/batches/" + id)).build();
    }
}
