package dev.kiln.simulator;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs one line of a batch through the same steps as a synchronous request, minus the rate limits
 * and the latency: reading the body, the model's rules, an injected fault, moderation, the render.
 * The answer becomes a result line, {@code {"id","custom_id","response":{"status_code","request_id",
 * "body"},"error":null}}, for the output file on 200 and the error file otherwise.
 *
 * <p>Faults in a batch: {@code 5xx}, {@code hang} and {@code malformed-json} answer the line 500
 * {@code server_error} (a batch has no connection to hang or to cut), {@code 429-no-retry-after}
 * answers it 429, {@code truncated-b64} and {@code wrong-size} spoil its images as they do
 * synchronously.
 */
final class BatchLineProcessor {

    /**
     * One line's outcome.
     *
     * @param succeeded whether the request was answered 200
     * @param line      the result line, without its newline
     * @param usage     the tokens of a successful render, else null
     */
    record Result(boolean succeeded, byte[] line, TokenUsage usage) {
    }

    private final SimulatorServer server;
    private final RenderRequestReader reader;
    private final ObjectMapper json;

    BatchLineProcessor(SimulatorServer server, RenderRequestReader reader, ObjectMapper json) {
        this.server = server;
        this.reader = reader;
        this.json = json;
    }

    Result process(ProviderBatch batch, JsonNode requestLine) {
        String endpoint = batch.endpoint().endsWith("/edits") ? "edits" : "generations";
        RequestContext context = new RequestContext(endpoint, "req_" + hex(12));
        String customId = requestLine.path("custom_id").asText();
        SimulatorSettings settings = server.settings();
        int status = 200;
        Object body;
        TokenUsage usage = null;
        try {
            byte[] requestBody = json.writeValueAsBytes(requestLine.get("body"));
            RenderRequest request = endpoint.equals("edits")
                    ? reader.readJsonEdit(requestBody, context, server.files())
                    : reader.readGeneration(requestBody, "application/json", context);
            RequestChecks.checkRules(request);
            Fault fault = RequestChecks.randomFault(settings, server.random());
            context.fault = fault;
            if (fault == Fault.RATE_LIMIT_WITHOUT_RETRY_AFTER) {
                throw new ApiError(429, "requests", null, "rate_limit_exceeded", "Rate limit reached for "
                        + request.input().model() + " in organization org-kiln-simulator.", Map.of());
            }
            if (fault == Fault.SERVER_ERROR || fault == Fault.HANG || fault == Fault.MALFORMED_JSON) {
                throw RequestChecks.serverError();
            }
            RequestChecks.checkModeration(request.prompt(), settings, context.requestId);
            ImageAnswer answer = ImageAnswer.render(request, fault, server);
            server.countBatchRenders(answer.images().size());
            usage = answer.usage();
            body = answer;
        } catch (ApiError e) {
            status = e.status;
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("message", e.getMessage());
            error.put("type", e.type);
            error.put("param", e.param);
            error.put("code", e.code);
            body = Map.of("error", error);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.recordBatchRequest(new ReceivedBatchRequest(batch.id(), customId, context.toRecord(status)));
        return new Result(status == 200, line(customId, status, context.requestId, body), usage);
    }

    /** Writes the images as base64 straight from their bytes, as the synchronous answer streams them. */
    private byte[] line(String customId, int status, String requestId, Object body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 12);
        try (JsonGenerator out = json.getFactory().createGenerator(bytes)) {
            out.writeStartObject();
            out.writeStringField("id", "batch_req_" + hex(16));
            out.writeStringField("custom_id", customId);
            out.writeObjectFieldStart("response");
            out.writeNumberField("status_code", status);
            out.writeStringField("request_id", requestId);
            out.writeFieldName("body");
            if (body instanceof ImageAnswer answer) {
                out.writeStartObject();
                out.writeNumberField("created", System.currentTimeMillis() / 1000);
                out.writeArrayFieldStart("data");
                for (byte[] image : answer.images()) {
                    out.writeStartObject();
                    out.writeFieldName("b64_json");
                    out.writeBinary(image);
                    out.writeEndObject();
                }
                out.writeEndArray();
                for (Map.Entry<String, Object> field : answer.metadata().entrySet()) {
                    out.writeObjectField(field.getKey(), field.getValue());
                }
                out.writeEndObject();
            } else {
                out.writeObject(body);
            }
            out.writeEndObject();
            out.writeNullField("error");
            out.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON into memory failed", e);
        }
        return bytes.toByteArray();
    }

    private static String hex(int bytes) {
        byte[] id = new byte[bytes];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(id);
        return HexFormat.of().formatHex(id);
    }
}
