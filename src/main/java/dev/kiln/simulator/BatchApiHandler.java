package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import java.io.IOException;
import java.io.InputStream;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The Batch API: {@code POST /v1/batches}, {@code GET /v1/batches}, {@code GET /v1/batches/{id}} and
 * {@code POST /v1/batches/{id}/cancel}. A created batch runs on its own {@link BatchRunner}; batches
 * never draw on the synchronous RPM, IPM and TPM limits, as OpenAI queues them apart.
 */
final class BatchApiHandler implements HttpHandler {

    /** The endpoints of OpenAI's Batch API that the simulator serves; edits take the JSON edit body. */
    static final Set<String> ENDPOINTS = Set.of("/v1/images/generations", "/v1/images/edits");
    private static final int MAX_METADATA_PAIRS = 16;

    private final SimulatorServer server;
    private final ObjectMapper json;
    private final ResponseWriter writer;

    BatchApiHandler(SimulatorServer server, ObjectMapper json, ResponseWriter writer) {
        this.server = server;
        this.json = json;
        this.writer = writer;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            try {
                Authentication.check(Authentication.bearerKey(exchange), server.settings());
                String[] path = exchange.getRequestURI().getPath().split("/");
                // "", "v1", "batches", id, "cancel"
                String method = exchange.getRequestMethod();
                if (path.length == 3 && method.equals("POST")) {
                    writer.json(exchange, 200, create(exchange), Map.of());
                } else if (path.length == 3 && method.equals("GET")) {
                    writer.json(exchange, 200, list(), Map.of());
                } else if (path.length == 4 && method.equals("GET")) {
                    writer.json(exchange, 200, batch(path[3]).toJson(), Map.of());
                } else if (path.length == 5 && path[4].equals("cancel") && method.equals("POST")) {
                    ProviderBatch batch = batch(path[3]);
                    Map<String, Object> cancelling = batch.cancel();
                    if (cancelling == null) {
                        throw new ApiError(409, "invalid_request_error", null, "batch_not_cancellable",
                                "Cannot cancel a batch with status '" + batch.status() + "'.", Map.of());
                    }
                    writer.json(exchange, 200, cancelling, Map.of());
                } else {
                    throw new ApiError(404, "invalid_request_error", null, "unknown_url", "Unrecognized request URL ("
                            + method + ": " + exchange.getRequestURI().getPath() + ").", Map.of());
                }
            } catch (ApiError e) {
                writer.error(exchange, e, Map.of());
            } catch (RuntimeException e) {
                // a simulator bug: say so in the answer rather than dropping the connection
                writer.error(exchange, new ApiError(500, "server_error", null, "simulator_bug", e.toString(), Map.of()),
                        Map.of());
            }
        }
    }

    private ProviderBatch batch(String id) throws ApiError {
        ProviderBatch batch = server.batch(id);
        if (batch == null) {
            throw new ApiError(404, "invalid_request_error", "batch_id", null, "No batch found with id '" + id + "'.", Map.of());
        }
        return batch;
    }

    private Map<String, Object> list() {
        List<Map<String, Object>> data = server.batches().reversed().stream().map(ProviderBatch::toJson).toList();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("object", "list");
        out.put("data", data);
        out.put("first_id", data.isEmpty() ? null : data.getFirst().get("id"));
        out.put("last_id", data.isEmpty() ? null : data.getLast().get("id"));
        out.put("has_more", false);
        return out;
    }

    /** Creates and starts a batch; answers its state before the runner moves it on, as {@code validating}. */
    private Map<String, Object> create(HttpExchange exchange) throws IOException, ApiError {
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            body = json.readTree(in.readNBytes(1024 * 1024));
        } catch (IOException e) {
            throw ApiError.invalid(null, "invalid_json", "We could not parse the JSON body of your request.");
        }
        if (body == null || !body.isObject()) {
            throw ApiError.invalid(null, "invalid_json", "The body of your request must be a JSON object.");
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!Set.of("input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after").contains(field)) {
                throw ApiError.invalid(field, "unknown_parameter", "Unknown parameter: '" + field + "'.");
            }
        }
        String inputFileId = requiredText(body, "input_file_id");
        String endpoint = requiredText(body, "endpoint");
        String window = requiredText(body, "completion_window");
        if (!ENDPOINTS.contains(endpoint)) {
            throw ApiError.invalid("endpoint", "invalid_value", "Invalid value for 'endpoint': '" + endpoint
                    + "'. The simulator serves batches of " + String.join(" and ", ENDPOINTS.stream().sorted().toList()) + ".");
        }
        if (!window.equals("24h")) {
            throw ApiError.invalid("completion_window", "invalid_value",
                    "Invalid value for 'completion_window': '" + window + "'. Supported values are: '24h'.");
        }
        Map<String, String> metadata = metadata(body.get("metadata"));
        FileStore.StoredFile input = server.files().get(inputFileId).orElseThrow(() -> new ApiError(404,
                "invalid_request_error", "input_file_id", null, "No such File object: " + inputFileId, Map.of()));
        if (!input.purpose().equals("batch")) {
            throw ApiError.invalid("input_file_id", "invalid_value",
                    "The input file must be uploaded with purpose 'batch', not '" + input.purpose() + "'.");
        }
        byte[] id = new byte[12];
        ThreadLocalRandom.current().nextBytes(id);
        ProviderBatch batch = new ProviderBatch("batch_" + HexFormat.of().formatHex(id), endpoint, inputFileId, window, metadata);
        Map<String, Object> created = batch.toJson();
        server.startBatch(batch);
        return created;
    }

    private static String requiredText(JsonNode body, String field) throws ApiError {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            throw ApiError.invalid(field, "missing_required_parameter", "Missing required parameter: '" + field + "'.");
        }
        if (!value.isTextual()) {
            throw ApiError.invalid(field, "invalid_type", field + " must be a string.");
        }
        return value.asText();
    }

    private static Map<String, String> metadata(JsonNode node) throws ApiError {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject() || node.size() > MAX_METADATA_PAIRS) {
            throw ApiError.invalid("metadata", "invalid_value", "metadata must be an object of at most 16 string pairs.");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw ApiError.invalid("metadata", "invalid_type", "metadata values must be strings.");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }
}
