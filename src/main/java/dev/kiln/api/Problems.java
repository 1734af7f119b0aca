package dev.kiln.api;

import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

/** Builds problem+json answers for filters, which end a request without an exception mapper. */
final class Problems {

    private Problems() {
    }

    /** A response of {@code problem}'s status and body, to add headers to. */
    static Response.ResponseBuilder response(Problem problem) {
        return Response.status(problem.status()).entity(problem).header(HttpHeaders.CONTENT_TYPE, Problem.MEDIA_TYPE);
    }
}
