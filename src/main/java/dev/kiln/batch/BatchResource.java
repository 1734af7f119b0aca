package dev.kiln.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.InvalidRequestException;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.io.IOException;
import java.net.URI;
import java.util.Optional;

/** {@code POST /v1/batches}: the front door for catalogue batches, and its dry run. */
/*
 * Every resource sits at /v1 with its own sub-paths: JAX-RS picks the class by its longest path
 * first, so a class at /v1/batches would hide GET /v1/batches/{id} of another class.
 */
@Path("/v1")
@Produces({MediaType.APPLICATION_JSON, "application/problem+json"})
public class BatchResource {

    private static final int MAX_IDEMPOTENCY_KEY = 255;

    private final BatchIntake intake;
    private final BatchRequestReader reader;

    public BatchResource(BatchIntake intake, ObjectMapper mapper) {
        this.intake = intake;
        this.reader = new BatchRequestReader(mapper);
    }

    /**
     * Accepts a batch; 202 once Kafka holds every job. With {@code dry_run=true} it checks the
     * batch the same way but enqueues nothing and answers 200 with a {@link BatchEstimate}.
     */
    @POST
    @Path("/batches")
    @Consumes(MediaType.APPLICATION_JSON)
    @Blocking
    public Response submit(JsonNode body, @HeaderParam("Idempotency-Key") String idempotencyKey,
                           @QueryParam("dry_run") @DefaultValue("false") boolean dryRun) throws IOException {
        BatchRequest request = reader.read(body);
        if (dryRun) {
            // Nothing is created, so there is nothing for an Idempotency-Key to name: it is ignored.
            return Response.ok(intake.dryRun(request)).build();
        }
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > MAX_IDEMPOTENCY_KEY)) {
            throw InvalidRequestException.of("Idempotency-Key", "must be 1 to " + MAX_IDEMPOTENCY_KEY + " characters");
        }
        BatchAccepted accepted = intake.submit(request, Optional.ofNullable(idempotencyKey));
        return Response.accepted(accepted)
                .location(URI.create("/v1/batches/" + accepted.id()))
                .header("Idempotent-Replayed", accepted.replayed())
                .build();
    }
}
