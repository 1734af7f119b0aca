package dev.kiln.simulator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageTokens;

import java.io.IOException;
import java.io.InputStream;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code POST /v1/images/generations} and {@code POST /v1/images/edits}. The steps, in the order
 * OpenAI's answers suggest: authentication (401), reading the body (400, 413), the model's rules
 * (400), the organisation's rate limits (429), injected faults, moderation (400), latency by
 * quality, and finally the render (200).
 */
final class ImagesHandler implements HttpHandler {

    static final String PROMPT_SHA256_HEADER = "x-simulator-prompt-sha256";

    private final String endpoint;
    private final SimulatorServer server;
    private final RenderRequestReader reader;
    private final ResponseWriter writer;

    ImagesHandler(String endpoint, SimulatorServer server, RenderRequestReader reader, ResponseWriter writer) {
        this.endpoint = endpoint;
        this.server = server;
        this.reader = reader;
        this.writer = writer;
    }

    @Override
    public void handle(HttpExchange exchange) {
        byte[] id = new byte[12];
        server.random().nextBytes(id);
        RequestContext context = new RequestContext(endpoint, "req_" + HexFormat.of().formatHex(id));
        try {
            answer(exchange, context);
        } catch (IOException e) {
            // the client went away mid-answer; the log already has the status begun
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server is closing; a hang never answers
        } finally {
            if (!context.recorded) {
                record(context, 0);
            }
            exchange.close();
        }
    }

    /**
     * Logged, and no longer in progress, before the answer is written: a client that has its answer
     * finds it in the log and no longer among the requests in progress.
     */
    private void record(RequestContext context, int status) {
        server.ended(context);
        context.recorded = true;
        server.record(context.toRecord(status));
    }

    private void answer(HttpExchange exchange, RequestContext context) throws IOException, InterruptedException {
        SimulatorSettings settings = server.settings();
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("x-request-id", context.requestId);
        try {
            if (!exchange.getRequestMethod().equals("POST")) {
                throw new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                        "Only POST is supported here.", Map.of());
            }
            context.apiKey = Authentication.bearerKey(exchange);
            Authentication.check(context.apiKey, settings);
            byte[] body = readBody(exchange, settings.maxBodyBytes());
            String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
            RenderRequest request = endpoint.equals("edits")
                    ? reader.readEdit(body, contentType, context)
                    : reader.readGeneration(body, contentType, context);
            headers.put(PROMPT_SHA256_HEADER, Hashes.sha256Hex(request.prompt()));
            RequestChecks.checkRules(request);
            Optional<Fault> forced = forcedFault(exchange);

            // TPM charges what gpt-image-2 bills by far the most of: the output tokens of the images
            long outputTokens = ImageTokens.outputPerImage(ImageAnswer.quality(request), Dimensions.resolve(request.input().size()))
                    * request.n();
            OrganisationRateLimiter.Decision decision = server.rateLimiter().tryAcquire(request.n(), outputTokens);
            headers.putAll(decision.headers());
            if (!decision.allowed()) {
                server.countRateLimited();
                throw rateLimited(decision, request.input().model(), true);
            }
            server.began(context);
            Fault fault = forced.orElseGet(() -> RequestChecks.randomFault(settings, server.random()));
            context.fault = fault;
            if (fault == Fault.RATE_LIMIT_WITHOUT_RETRY_AFTER) {
                server.countRateLimited();
                throw rateLimited(new OrganisationRateLimiter.Decision(false, "requests", settings.requestsPerMinute(),
                        settings.requestsPerMinute(), 1, 0, Map.of()), request.input().model(), false);
            }
            if (fault == Fault.HANG) {
                Thread.sleep(settings.scaledMillis(settings.hangMillis()));
                throw RequestChecks.serverError();
            }
            if (fault == Fault.SERVER_ERROR) {
                throw RequestChecks.serverError();
            }
            RequestChecks.checkModeration(request.prompt(), settings, context.requestId);
            Thread.sleep(settings.scaledMillis(settings.latencyFor(request.input().quality()).sampleMillis(server.random())));
            long created = System.currentTimeMillis() / 1000;
            if (fault == Fault.MALFORMED_JSON) {
                record(context, 200);
                writer.malformed(exchange, created, headers);
                return;
            }
            ImageAnswer answer = ImageAnswer.render(request, fault, server);
            record(context, 200);
            writer.images(exchange, created, answer.images(), answer.metadata(), headers);
        } catch (ApiError e) {
            headers.putAll(e.headers);
            record(context, e.status);
            writer.error(exchange, e, headers);
        }
    }

    private static byte[] readBody(HttpExchange exchange, long maxBytes) throws IOException, ApiError {
        int limit = (int) Math.min(Integer.MAX_VALUE - 16, maxBytes);
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(limit + 1);
            if (body.length > limit) {
                throw new ApiError(413, "invalid_request_error", null, "request_too_large",
                        "The request body is larger than " + limit + " bytes.", Map.of());
            }
            return body;
        }
    }

    private static Optional<Fault> forcedFault(HttpExchange exchange) throws ApiError {
        String value = exchange.getRequestHeaders().getFirst(Fault.HEADER);
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        Optional<Fault> fault = Fault.fromHeader(value);
        if (fault.isEmpty()) {
            throw ApiError.invalid(null, "unknown_fault", "Unknown " + Fault.HEADER + ": '" + value + "'.");
        }
        return fault;
    }

    private static ApiError rateLimited(OrganisationRateLimiter.Decision decision, String model, boolean withRetryAfter) {
        String perMinute = switch (decision.limitType()) {
            case "images" -> "images per min (IPM)";
            case "tokens" -> "tokens per min (TPM)";
            default -> "requests per min (RPM)";
        };
        long limit = decision.limit();
        String retryIn = withRetryAfter ? " Please try again in " + GoDuration.format(decision.retryAfterMillis()) + "." : "";
        String message = "Rate limit reached for " + model + " in organization org-kiln-simulator on " + perMinute
                + ": Limit " + limit + ", Used " + decision.used() + ", Requested " + decision.requested() + "." + retryIn
                + " Visit https://platform.openai.com/account/rate-limits to learn more.";
        Map<String, String> headers = withRetryAfter
                ? Map.of("retry-after", Long.toString((decision.retryAfterMillis() + 999) / 1000),
                        "retry-after-ms", Long.toString(decision.retryAfterMillis()))
                : Map.of();
        return new ApiError(429, decision.limitType(), null, "rate_limit_exceeded", message, headers);
    }
}
