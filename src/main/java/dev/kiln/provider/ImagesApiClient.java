package dev.kiln.provider;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.job.ImageParameters;
import dev.kiln.reference.FetchedReferences;
import dev.kiln.reference.ReferenceImage;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * Calls the OpenAI Images API: generations (JSON) and edits (multipart). The JDK's HTTP client is
 * used rather than the OpenAI SDK or a REST client because an answer carries up to ~45 MB of
 * base64 per image: the body is read as a stream and each {@code b64_json} value is decoded
 * straight into a file, so a worker with many calls in flight never holds whole answers in its
 * heap (the SDK would hold the base64 string and the decoded bytes of every image at once). An
 * edit's references go the other way the same way: streamed from their files as the request is sent.
 *
 * <p>Hundreds of calls wait at once (see {@code ConcurrencyTarget}), each on its own virtual
 * thread, so the client speaks HTTP/1.1: the JDK's client then opens one connection per call in
 * flight, with no cap per host, and keeps the idle ones for reuse ({@code jdk.httpclient.connectionPoolSize}
 * is unbounded by default), so the pool follows the in-flight target up to
 * {@code KILN_WORKER_MAX_IN_FLIGHT}. api.openai.com offers HTTP/2 (ALPN), but the JDK's client puts
 * every HTTP/2 request to a host on one connection and fails the requests beyond the server's
 * {@code SETTINGS_MAX_CONCURRENT_STREAMS} (often 100) with "too many concurrent streams"
 * (JDK-8225647) instead of queueing them or opening another connection: at 500 calls in flight
 * that would be failed calls, not savings. A call spends minutes waiting for one answer, so a
 * connection per call costs a socket and its buffers, not throughput.
 */
@ApplicationScoped
public class ImagesApiClient implements ImagesProvider {

    /** Error bodies are small JSON; a cap keeps a misbehaving server from filling the heap. */
    private static final int MAX_ERROR_BODY = 64 * 1024;

    private final ProviderConfig config;
    private final ObjectMapper mapper;
    private final HttpClient http;

    public ImagesApiClient(ProviderConfig config, ObjectMapper mapper) {
        this.config = config;
        this.mapper = mapper;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(config.connectTimeout())
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    @Override
    @io.opentelemetry.instrumentation.annotations.WithSpan(value = "openai images.generations", kind = io.opentelemetry.api.trace.SpanKind.CLIENT)
    public ProviderAnswer generate(String user, String prompt, ImageParameters parameters, Path workDir, Runnable sent)
            throws InterruptedException {
        ObjectNode body = mapper.valueToTree(parameters == null ? ImageParameters.NONE : parameters);
        body.remove("input_fidelity");
        body.put("prompt", prompt);
        if (user != null) {
            body.put("user", user);
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(config.effectiveBaseUrl() + "/images/generations"))
                .timeout(config.timeoutFor(parameters == null ? null : parameters.quality()))
                .header("Authorization", "Bearer " + config.effectiveApiKey())
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(new SentSignallingBody(HttpRequest.BodyPublishers.ofByteArray(writeJson(body)), sent))
                .build();
        return send(request, workDir);
    }

    /**
     * {@inheritDoc} One {@code image[]} part per reference, in order, and the optional mask, as
     * multipart/form-data streamed from the files.
     */
    @Override
    @io.opentelemetry.instrumentation.annotations.WithSpan(value = "openai images.edits", kind = io.opentelemetry.api.trace.SpanKind.CLIENT)
    public ProviderAnswer edit(String user, String prompt, ImageParameters parameters, FetchedReferences references, Path workDir,
                               Runnable sent) throws InterruptedException {
        MultipartFormPublisher form = new MultipartFormPublisher();
        ObjectNode fields = mapper.valueToTree(parameters == null ? ImageParameters.NONE : parameters);
        try {
            if (fields.has("model")) {
                form.field("model", fields.get("model").asText());
            }
            form.field("prompt", prompt);
            if (user != null) {
                form.field("user", user);
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = fields.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                if (!field.getKey().equals("model") && !field.getValue().isNull()) {
                    form.field(field.getKey(), field.getValue().asText());
                }
            }
            List<ReferenceImage> images = references.images();
            for (int i = 0; i < images.size(); i++) {
                ReferenceImage image = images.get(i);
                form.file("image[]", "image-" + i + "." + image.info().format().extension(),
                        image.info().format().contentType(), image.file());
            }
            if (references.mask() != null) {
                form.file("mask", "mask.png", references.mask().info().format().contentType(), references.mask().file());
            }
        } catch (FileNotFoundException e) {
            // The work folder is the worker's own; a file vanishing from it is a local fault worth a retry.
            return ProviderAnswer.transientFault("reference_missing", "a fetched reference disappeared before upload");
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(config.effectiveBaseUrl() + "/images/edits"))
                .timeout(config.timeoutFor(parameters == null ? null : parameters.quality()))
                .header("Authorization", "Bearer " + config.effectiveApiKey())
                .header("Content-Type", form.contentType())
                .header("Accept", "application/json")
                .POST(new SentSignallingBody(form.build(), sent))
                .build();
        return send(request, workDir);
    }

    /** Sends a prepared request and turns the answer into images or a classified failure. */
    ProviderAnswer send(HttpRequest request, Path workDir) throws InterruptedException {
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            return ProviderAnswer.transientFault("provider_timeout",
                    "the provider did not answer within " + request.timeout().map(Duration::toString).orElse("the timeout"));
        } catch (IOException e) {
            return ProviderAnswer.transientFault("provider_unreachable", "connection to the provider failed: " + e.getClass().getSimpleName());
        }
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                return new ProviderAnswer.Failed(classify(response, readError(in)));
            }
            return new ProviderAnswer.Rendered(decode(in, workDir, RateLimitHeaders.from(response.headers(), null),
                    TokenLimitHeaders.from(response.headers())));
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) {
                // Shutdown closed the stream under the decoder: not the provider's fault.
                throw new InterruptedException("the call was interrupted while its answer was read");
            }
            return ProviderAnswer.transientFault("malformed_response", "the provider's answer could not be read: " + e.getMessage());
        }
    }

    private RenderedImages decode(InputStream in, Path workDir, RateLimitHeaders limits, TokenLimitHeaders tokens) throws IOException {
        List<Path> files = new ArrayList<>();
        ProviderUsage usage = ProviderUsage.NONE;
        try (JsonParser parser = mapper.getFactory().createParser(in)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("expected a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                if ("data".equals(field) && parser.currentToken() == JsonToken.START_ARRAY) {
                    while (parser.nextToken() == JsonToken.START_OBJECT) {
                        files.add(decodeImage(parser, workDir.resolve("image-" + files.size())));
                    }
                } else if ("usage".equals(field)) {
                    usage = usage(parser.readValueAsTree());
                } else {
                    parser.skipChildren();
                }
            }
        }
        if (files.isEmpty()) {
            throw new IOException("the answer held no image");
        }
        return new RenderedImages(files, usage, limits, tokens);
    }

    /** Decodes one {@code data[]} entry's {@code b64_json} into {@code file} without holding it whole. */
    private static Path decodeImage(JsonParser parser, Path file) throws IOException {
        boolean found = false;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            if ("b64_json".equals(field) && parser.currentToken() == JsonToken.VALUE_STRING) {
                try (OutputStream out = Files.newOutputStream(file)) {
                    parser.readBinaryValue(out);
                }
                found = true;
            } else {
                parser.skipChildren();
            }
        }
        if (!found) {
            throw new IOException("an image entry had no b64_json");
        }
        return file;
    }

    private static ProviderUsage usage(JsonNode usage) {
        return ProviderUsage.fromJson(usage);
    }

    private String readError(InputStream in) throws IOException {
        return new String(in.readNBytes(MAX_ERROR_BODY), StandardCharsets.UTF_8);
    }

    private ProviderFailure classify(HttpResponse<?> response, String body) {
        int status = response.statusCode();
        String code = null;
        String message = null;
        try {
            JsonNode error = mapper.readTree(body).path("error");
            code = error.path("code").isTextual() ? error.path("code").asText() : error.path("type").asText(null);
            message = error.path("message").asText(null);
        } catch (IOException e) {
            // not JSON: a proxy or load balancer answered; the status alone decides
        }
        if (message == null) {
            message = "the provider answered HTTP " + status;
        }
        if (status == 429) {
            RateLimitHeaders limits = RateLimitHeaders.from(response.headers(), message);
            return new ProviderFailure(ProviderFailure.Kind.RATE_LIMITED, code == null ? "rate_limit_exceeded" : code,
                    message, limits.retryAfter().orElse(null));
        }
        if (status == 401 || status == 403) {
            return new ProviderFailure(ProviderFailure.Kind.UNAUTHORIZED, code == null ? "unauthorized" : code,
                    "the provider refused the API key (HTTP " + status + ")", null);
        }
        if (status >= 400 && status < 500 && status != 408 && status != 409) {
            return new ProviderFailure(ProviderFailure.Kind.REJECTED, code == null ? "invalid_request_error" : code,
                    message, null);
        }
        return ProviderFailure.transientFault(code == null ? "provider_error" : code,
                "the provider failed (HTTP " + status + "): " + message);
    }

    private byte[] writeJson(JsonNode body) {
        try {
            return mapper.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }
}
