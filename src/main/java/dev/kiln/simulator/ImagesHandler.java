package dev.kiln.simulator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.kiln.image.Dimensions;
import dev.kiln.image.GptImageRules;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.Violation;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

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
            server.ended(context);
            if (!context.recorded) {
                record(context, 0);
            }
            exchange.close();
        }
    }

    /** Logged before the answer is written, so a client that has its answer also finds it in the log. */
    private void record(RequestContext context, int status) {
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
            authenticate(exchange, context, settings);
            byte[] body = readBody(exchange, settings.maxBodyBytes());
            String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
            RenderRequest request = endpoint.equals("edits")
                    ? reader.readEdit(body, contentType, context)
                    : reader.readGeneration(body, contentType, context);
            headers.put(PROMPT_SHA256_HEADER, Hashes.sha256Hex(request.prompt()));
            checkRules(request);
            Optional<Fault> forced = forcedFault(exchange);

            OrganisationRateLimiter.Decision decision = server.rateLimiter().tryAcquire(request.n());
            headers.putAll(decision.headers());
            if (!decision.allowed()) {
                server.countRateLimited();
                throw rateLimited(decision, request.input().model(), true);
            }
            server.began(context);
            Fault fault = forced.orElseGet(() -> randomFault(settings));
            context.fault = fault;
            if (fault == Fault.RATE_LIMIT_WITHOUT_RETRY_AFTER) {
                server.countRateLimited();
                throw rateLimited(new OrganisationRateLimiter.Decision(false, "requests", settings.requestsPerMinute(),
                        1, 0, Map.of()), request.input().model(), false);
            }
            if (fault == Fault.HANG) {
                Thread.sleep(settings.hangMillis());
                throw serverError();
            }
            if (fault == Fault.SERVER_ERROR) {
                throw serverError();
            }
            checkModeration(request.prompt(), settings, context);
            Thread.sleep(settings.latencyFor(request.input().quality()).sampleMillis(server.random()));
            long created = System.currentTimeMillis() / 1000;
            if (fault == Fault.MALFORMED_JSON) {
                record(context, 200);
                writer.malformed(exchange, created, headers);
                return;
            }
            render(exchange, context, request, fault, created, headers);
        } catch (ApiError e) {
            headers.putAll(e.headers);
            record(context, e.status);
            writer.error(exchange, e, headers);
        }
    }

    private void render(HttpExchange exchange, RequestContext context, RenderRequest request, Fault fault, long created,
                        Map<String, String> headers) throws IOException {
        var input = request.input();
        Dimensions size = Dimensions.resolve(input.size());
        Dimensions drawn = fault == Fault.WRONG_SIZE ? halved(size) : size;
        ImageFormat format = input.outputFormat() == null ? ImageFormat.PNG : ImageFormat.fromName(input.outputFormat());
        boolean transparent = "transparent".equals(input.background());
        String quality = input.quality() == null || input.quality().equals("auto") ? "medium" : input.quality();
        List<byte[]> images = new ArrayList<>();
        for (int i = 0; i < request.n(); i++) {
            byte[] image = ImageRenderer.render(request.prompt(), i, drawn, format, transparent, input.outputCompression());
            server.countRender();
            images.add(fault == Fault.TRUNCATED_B64 ? Arrays.copyOf(image, image.length / 2 / 3 * 3) : image);
        }
        TokenUsage usage = TokenUsage.of(request.prompt(),
                request.inputImages().stream().map(ImageInfo::dimensions).toList(), size, quality, request.n());
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("background", transparent ? "transparent" : "opaque");
        metadata.put("output_format", format.apiName());
        metadata.put("quality", quality);
        metadata.put("size", size.toString());
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("text_tokens", usage.textTokens());
        details.put("image_tokens", usage.imageTokens());
        Map<String, Object> usageJson = new LinkedHashMap<>();
        usageJson.put("input_tokens", usage.inputTokens());
        usageJson.put("input_tokens_details", details);
        usageJson.put("output_tokens", usage.outputTokens());
        usageJson.put("total_tokens", usage.totalTokens());
        metadata.put("usage", usageJson);
        record(context, 200);
        writer.images(exchange, created, images, metadata, headers);
    }

    private static Dimensions halved(Dimensions size) {
        return new Dimensions(Math.max(16, size.width() / 2), Math.max(16, size.height() / 2));
    }

    private static void authenticate(HttpExchange exchange, RequestContext context, SimulatorSettings settings)
            throws ApiError {
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        String key = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                ? authorization.substring(7).trim() : "";
        context.apiKey = key.isEmpty() ? null : key;
        if (key.isEmpty()) {
            throw new ApiError(401, "invalid_request_error", null, null,
                    "You didn't provide an API key. You need to provide your API key in an Authorization header "
                            + "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", Map.of());
        }
        boolean accepted = settings.acceptedApiKeys().isEmpty() || settings.acceptedApiKeys().contains(key);
        if (!accepted || settings.rejectedApiKeys().contains(key)) {
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key",
                    "Incorrect API key provided: " + redact(key) + ". You can find your API key at "
                            + "https://platform.openai.com/account/api-keys.", Map.of());
        }
        if (settings.forbiddenApiKeys().contains(key)) {
            throw new ApiError(403, "invalid_request_error", null, "organization_not_verified",
                    "Your organization must be verified to use the model `gpt-image-2`.", Map.of());
        }
    }

    /** OpenAI shows only the start and the end of a wrong key. */
    private static String redact(String key) {
        if (key.length() <= 8) {
            return "*".repeat(key.length());
        }
        return key.substring(0, 4) + "*".repeat(Math.min(20, key.length() - 8)) + key.substring(key.length() - 4);
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

    private static void checkRules(RenderRequest request) throws ApiError {
        List<Violation> violations = GptImageRules.validate(request.prompt(), request.input());
        if (!violations.isEmpty()) {
            String message = violations.stream().map(v -> "Invalid '" + v.field() + "': " + v.reason() + ".")
                    .collect(Collectors.joining(" "));
            throw ApiError.invalid(violations.get(0).field(), "invalid_value", message);
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

    /** Each fault gets its own draw, in declaration order; the first that hits wins. */
    private Fault randomFault(SimulatorSettings settings) {
        for (Fault fault : Fault.values()) {
            double rate = settings.faultRates().get(fault);
            if (rate > 0 && server.random().nextDouble() < rate) {
                return fault;
            }
        }
        return null;
    }

    private static void checkModeration(String prompt, SimulatorSettings settings, RequestContext context)
            throws ApiError {
        String marker = settings.moderationMarker();
        if (!marker.isBlank() && prompt.toLowerCase(Locale.ROOT).contains(marker.toLowerCase(Locale.ROOT))) {
            throw new ApiError(400, "image_generation_user_error", null, "moderation_blocked",
                    "Your request was rejected by the safety system. If you believe this is an error, contact us "
                            + "at help.openai.com and include the request ID " + context.requestId + ".", Map.of());
        }
    }

    private static ApiError rateLimited(OrganisationRateLimiter.Decision decision, String model, boolean withRetryAfter) {
        String perMinute = decision.limitType().equals("images") ? "images per min (IPM)" : "requests per min (RPM)";
        long limit = decision.limit();
        String retryIn = withRetryAfter ? " Please try again in " + GoDuration.format(decision.retryAfterMillis()) + "." : "";
        String message = "Rate limit reached for " + model + " in organization org-kiln-simulator on " + perMinute
                + ": Limit " + limit + ", Requested " + decision.requested() + "." + retryIn
                + " Visit https://platform.openai.com/account/rate-limits to learn more.";
        Map<String, String> headers = withRetryAfter
                ? Map.of("retry-after", Long.toString((decision.retryAfterMillis() + 999) / 1000),
                        "retry-after-ms", Long.toString(decision.retryAfterMillis()))
                : Map.of();
        return new ApiError(429, decision.limitType(), null, "rate_limit_exceeded", message, headers);
    }

    private static ApiError serverError() {
        return new ApiError(500, "server_error", null, "server_error",
                "The server had an error while processing your request. Sorry about that!", Map.of());
    }
}
