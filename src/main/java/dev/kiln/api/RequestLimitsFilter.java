package dev.kiln.api;

import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import java.util.Optional;

/**
 * Refuses a body of a media type Kiln never reads (415) or longer than its type allows (413),
 * from the headers alone, after authentication and before anything reads the body. Every answer
 * is problem+json.
 */
public class RequestLimitsFilter {

    static final MediaType NDJSON = new MediaType("application", "x-ndjson");

    private final RequestLimitsConfig config;

    public RequestLimitsFilter(RequestLimitsConfig config) {
        this.config = config;
    }

    @ServerRequestFilter(preMatching = true, priority = Priorities.AUTHENTICATION + 100)
    public Optional<Response> check(ContainerRequestContext request) {
        String lengthHeader = request.getHeaderString(HttpHeaders.CONTENT_LENGTH);
        boolean chunked = request.getHeaderString("Transfer-Encoding") != null;
        long length = parseLength(lengthHeader);
        if (length < -1) {
            return Optional.of(Problems.response(Problem.of(400, "invalid-request", "Invalid request",
                    "Content-Length is not a number")).build());
        }
        if (length <= 0 && !chunked) {
            return Optional.empty();
        }
        MediaType type;
        try {
            type = request.getMediaType();
        } catch (IllegalArgumentException e) {
            type = null;
        }
        Optional<Long> limit = limit(type);
        if (limit.isEmpty()) {
            return Optional.of(Problems.response(Problem.of(415, "unsupported-media-type", "Unsupported media type",
                    "a body must be application/json, application/x-ndjson or multipart/form-data")).build());
        }
        if (length > limit.get()) {
            return Optional.of(Problems.response(Problem.of(413, "payload-too-large", "Payload too large",
                    "a " + base(type) + " body may have at most " + limit.get() + " bytes")).build());
        }
        return Optional.empty();
    }

    /** The largest body of {@code type}; empty when Kiln reads no body of that type. */
    Optional<Long> limit(MediaType type) {
        if (type == null) {
            return Optional.empty();
        }
        if (type.isCompatible(MediaType.APPLICATION_JSON_TYPE) && !type.isWildcardSubtype()) {
            return Optional.of(config.jsonMaxBytes().asLongValue());
        }
        if (type.isCompatible(NDJSON) && !type.isWildcardSubtype()) {
            return Optional.of(config.ndjsonMaxBytes().asLongValue());
        }
        if (type.isCompatible(MediaType.MULTIPART_FORM_DATA_TYPE) && !type.isWildcardSubtype()) {
            return Optional.of(config.multipartMaxBytes().asLongValue());
        }
        return Optional.empty();
    }

    private static String base(MediaType type) {
        return type.getType() + "/" + type.getSubtype();
    }

    /** The length, -1 when absent, -2 when not a number. */
    private static long parseLength(String header) {
        if (header == null || header.isBlank()) {
            return -1;
        }
        try {
            long value = Long.parseLong(header.trim());
            return value < 0 ? -2 : value;
        } catch (NumberFormatException e) {
            return -2;
        }
    }
}
