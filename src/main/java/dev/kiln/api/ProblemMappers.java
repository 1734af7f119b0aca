package dev.kiln.api;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.kiln.batch.BodyReadTimeoutException;
import dev.kiln.batch.BodyTooLargeException;
import dev.kiln.batch.IdempotencyKeyReusedException;
import dev.kiln.job.FieldError;
import dev.kiln.job.InvalidRequestException;
import dev.kiln.job.NotFoundException;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.upload.UploadTooLargeException;
import dev.kiln.upload.UploadIntake;
import io.quarkus.logging.Log;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;
import org.jboss.resteasy.reactive.server.core.multipart.MultipartParser;

import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Turns every failure of a request into an RFC 9457 problem body. The features throw domain
 * exceptions; only this class knows which HTTP status each one means.
 */
public class ProblemMappers {

    @ServerExceptionMapper
    public Response invalid(InvalidRequestException e) {
        return respond(Problem.invalid(e.errors()));
    }

    @ServerExceptionMapper
    public Response notFound(NotFoundException e) {
        return respond(Problem.of(404, "not-found", "Not found", e.getMessage()));
    }

    @ServerExceptionMapper
    public Response unavailable(ServiceUnavailableException e) {
        Response.ResponseBuilder response = builder(Problem.of(503, e.code(), e.title(), e.getMessage()));
        if (e.retryAfter() != null) {
            response.header(HttpHeaders.RETRY_AFTER, Math.max(1, e.retryAfter().toSeconds()));
        }
        return response.build();
    }

    @ServerExceptionMapper
    public Response conflict(dev.kiln.job.ConflictException e) {
        return respond(Problem.of(409, e.code(), "Conflict", e.getMessage()));
    }

    @ServerExceptionMapper
    public Response idempotencyKeyReused(IdempotencyKeyReusedException e) {
        return respond(Problem.of(422, "idempotency-key-reused", "Idempotency key reused", e.getMessage()));
    }

    @ServerExceptionMapper
    public Response uploadTooLarge(UploadTooLargeException e) {
        return respond(new Problem("urn:kiln:problem:too-large", "Upload too large", 413, e.getMessage(),
                List.of(new FieldError(UploadIntake.FIELD, "must be at most " + e.maxBytes() + " bytes"))));
    }

    /**
     * A body that passed its limit while it was read (sent without Content-Length): reading
     * stopped there. The connection is closed, since the rest of the body is never read.
     */
    @ServerExceptionMapper
    public Response bodyTooLarge(BodyTooLargeException e) {
        return builder(new Problem("urn:kiln:problem:payload-too-large", "Payload too large", 413, e.getMessage(),
                List.of(new FieldError("body", "must be at most " + e.maxBytes() + " bytes of " + e.mediaType()))))
                .header("Connection", "close").build();
    }

    /** A client that stalled mid-body: 408, and the connection is closed. */
    @ServerExceptionMapper
    public Response bodyReadTimeout(BodyReadTimeoutException e) {
        return builder(Problem.of(408, "request-timeout", "Request timeout", e.getMessage()))
                .header("Connection", "close").build();
    }

    /** Quarkus maps these two itself, with plain JSON; a mapper of the exact type takes precedence. */
    @ServerExceptionMapper
    public Response mismatchedJson(MismatchedInputException e) {
        return unreadableJson(e);
    }

    @ServerExceptionMapper
    public Response malformedJson(JsonParseException e) {
        return unreadableJson(e);
    }

    /**
     * A body that is not JSON, or JSON of the wrong shape: names the field when Jackson knows it,
     * and always the line and column where reading stopped.
     */
    @ServerExceptionMapper
    public Response unreadableJson(JsonProcessingException e) {
        String field = "body";
        if (e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
            field = mapping.getPath().stream()
                    .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                    .collect(Collectors.joining(".")).replace(".[", "[");
        }
        String reason = e.getOriginalMessage() == null ? "is not valid JSON" : firstLine(e.getOriginalMessage());
        JsonLocation at = e.getLocation();
        if (at != null && at.getLineNr() > 0) {
            reason += " (at line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        }
        return respond(Problem.invalid(List.of(new FieldError(field, reason))));
    }

    /** The multipart parser's word for a part whose headers it cannot read. */
    @ServerExceptionMapper
    public Response malformedMultipart(MultipartParser.MalformedMessageException e) {
        return respond(Problem.invalid(List.of(new FieldError("body",
                "is not valid multipart/form-data: a part's headers cannot be read"))));
    }

    /**
     * A checked I/O failure that reaches this far comes from reading the request body: Kiln wraps
     * its own I/O failures. The multipart parser reports a body that ends before its closing
     * boundary (or never names the declared boundary) as "Connection terminated parsing
     * multipart request".
     */
    @ServerExceptionMapper
    public Response unreadableBody(IOException e) {
        return respond(Problem.invalid(List.of(new FieldError("body", "could not be read: " + e.getMessage()
                + "; check that the body ends with the closing boundary declared in Content-Type"))));
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        // Quarkus wraps a JSON syntax error in a bare 400; the cause says where the body broke.
        if (e.getCause() instanceof JsonProcessingException json) {
            return unreadableJson(json);
        }
        int status = e.getResponse().getStatus();
        String title = e.getResponse().getStatusInfo().getReasonPhrase();
        return respond(Problem.of(status, title.toLowerCase().replace(' ', '-'), title, e.getMessage()));
    }

    @ServerExceptionMapper
    public Response unexpected(RuntimeException e) {
        Log.error("request failed", e);
        return respond(Problem.of(500, "internal-error", "Internal error", "the request failed; it has been logged"));
    }

    private static String firstLine(String message) {
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static Response respond(Problem problem) {
        return builder(problem).build();
    }

    private static Response.ResponseBuilder builder(Problem problem) {
        return Response.status(problem.status()).entity(problem)
                .header(HttpHeaders.CONTENT_TYPE, Problem.MEDIA_TYPE);
    }
}
