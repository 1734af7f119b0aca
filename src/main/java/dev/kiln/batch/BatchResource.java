package dev.kiln.batch;

import dev.kiln.job.InvalidRequestException;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.ext.web.RoutingContext;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
    static final String NDJSON = "application/x-ndjson";

    private final BatchIntake intake;
    private final IntakeConfig config;
    /* The limits the door (api.RequestLimitsFilter) checks on Content-Length, applied here while reading a body sent without one. */
    private final MemorySize jsonMaxBytes;
    private final MemorySize ndjsonMaxBytes;

    public BatchResource(BatchIntake intake, IntakeConfig config,
                         @ConfigProperty(name = "kiln.http-limits.json-max-bytes") MemorySize jsonMaxBytes,
                         @ConfigProperty(name = "kiln.http-limits.ndjson-max-bytes") MemorySize ndjsonMaxBytes) {
        this.intake = intake;
        this.config = config;
        this.jsonMaxBytes = jsonMaxBytes;
        this.ndjsonMaxBytes = ndjsonMaxBytes;
    }

    /**
     * Accepts a batch; 202 once Kafka holds every job. With {@code dry_run=true} it checks the
     * batch the same way but enqueues nothing and answers 200 with a {@link BatchEstimate}. The
     * body is read as a stream, an item at a time, never whole.
     */
    @POST
    @Path("/batches")
    @Consumes(MediaType.APPLICATION_JSON)
    @Blocking
    public Response submit(@Context RoutingContext http, @HeaderParam("Idempotency-Key") String idempotencyKey,
                           @QueryParam("dry_run") @DefaultValue("false") boolean dryRun) throws IOException {
        try (InputStream in = StreamedBody.of(http, MediaType.APPLICATION_JSON, jsonMaxBytes.asLongValue(), config.readTimeout())) {
            return submit(in, false, idempotencyKey, dryRun);
        }
    }

    /**
     * Accepts a catalogue streamed as {@code application/x-ndjson}: an optional first line
     * {@code {"batch": {…}}}, then one item a line. Read, checked and staged without the whole
     * body in memory; 202 once Kafka committed all of it, 400 naming each bad line otherwise.
     * {@code dry_run=true} answers the same estimate as for JSON.
     */
    @POST
    @Path("/batches")
    @Consumes(NDJSON)
    @Blocking
    public Response submitCatalogue(@Context RoutingContext http, @HeaderParam("Idempotency-Key") String idempotencyKey,
                                    @QueryParam("dry_run") @DefaultValue("false") boolean dryRun) throws IOException {
        try (InputStream in = StreamedBody.of(http, NDJSON, ndjsonMaxBytes.asLongValue(), config.readTimeout())) {
            return submit(in, true, idempotencyKey, dryRun);
        }
    }

    private Response submit(InputStream in, boolean ndjson, String idempotencyKey, boolean dryRun) throws IOException {
        Response response;
        if (dryRun) {
            // Nothing is created, so there is nothing for an Idempotency-Key to name: it is ignored.
            response = Response.ok(intake.dryRun(in, ndjson)).build();
        } else {
            response = accepted(intake.submitCatalogue(in, ndjson, checkedKey(idempotencyKey)));
        }
        // Whatever follows the JSON value (a newline) is read, so the connection can serve the next request.
        in.transferTo(OutputStream.nullOutputStream());
        return response;
    }

    private static Optional<String> checkedKey(String idempotencyKey) {
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > MAX_IDEMPOTENCY_KEY)) {
            throw InvalidRequestException.of("Idempotency-Key", "must be 1 to " + MAX_IDEMPOTENCY_KEY + " characters");
        }
        return Optional.ofNullable(idempotencyKey);
    }

    private static Response accepted(BatchAccepted accepted) {
        return Response.accepted(accepted)
                .location(URI.create("/v1/batches/" + accepted.id()))
                .header("Idempotent-Replayed", accepted.replayed())
                .build();
    }
}
