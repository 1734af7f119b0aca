package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Control routes for tests that run the simulator in another process.
 * <ul>
 *   <li>{@code GET /simulator/settings}: the settings in force;</li>
 *   <li>{@code POST /simulator/settings}: a JSON object of settings named like the environment
 *       variables without their prefix, in either case ({@code {"ipm": 5, "fault_5xx_rate": 0.5}});</li>
 *   <li>{@code GET /simulator/received}: the request log;</li>
 *   <li>{@code GET /simulator/batch-requests}: every batch line run, with its {@code batch_id} and {@code custom_id};</li>
 *   <li>{@code GET /simulator/stats}: {@code render_count}, {@code rate_limited_count}, {@code in_progress_count},
 *       {@code batch_count} (batches created), {@code batch_request_count} (batch lines run) and
 *       {@code batch_render_count} (images rendered for them, also in {@code render_count});</li>
 *   <li>{@code POST /simulator/reset}: forget the logs, zero the counters.</li>
 * </ul>
 */
final class AdminHandler implements HttpHandler {

    private final SimulatorServer server;
    private final ObjectMapper json;
    private final ResponseWriter writer;

    AdminHandler(SimulatorServer server, ObjectMapper json, ResponseWriter writer) {
        this.server = server;
        this.json = json;
        this.writer = writer;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String route = exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath();
            switch (route) {
                case "GET /simulator/settings" -> writer.json(exchange, 200, server.settings(), Map.of());
                case "POST /simulator/settings" -> updateSettings(exchange);
                case "GET /simulator/received" -> writer.json(exchange, 200, server.received().stream().map(AdminHandler::asJson).toList(), Map.of());
                case "GET /simulator/batch-requests" -> writer.json(exchange, 200, server.receivedBatchRequests().stream()
                        .map(AdminHandler::asJson).toList(), Map.of());
                case "GET /simulator/stats" -> writer.json(exchange, 200, Map.of(
                        "render_count", server.renderCount(),
                        "rate_limited_count", server.rateLimitedCount(),
                        "in_progress_count", server.inProgress().size(),
                        "batch_count", server.batchCount(),
                        "batch_request_count", server.receivedBatchRequests().size(),
                        "batch_render_count", server.batchRenderCount()), Map.of());
                case "POST /simulator/reset" -> {
                    server.reset();
                    writer.json(exchange, 200, Map.of("reset", true), Map.of());
                }
                default -> writer.error(exchange, ApiError.invalid(null, "unknown_url", "No route " + route + "."), Map.of());
            }
        }
    }

    private static Map<String, Object> asJson(ReceivedBatchRequest r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("batch_id", r.batchId());
        out.put("custom_id", r.customId());
        out.putAll(asJson(r.request()));
        return out;
    }

    /** As a map, so that {@code receivedAt} needs no Jackson time module. */
    private static Map<String, Object> asJson(ReceivedRequest r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("endpoint", r.endpoint());
        out.put("request_id", r.requestId());
        out.put("prompt", r.prompt());
        out.put("prompt_sha256", r.promptSha256());
        out.put("params", r.params());
        out.put("image_count", r.imageCount());
        out.put("has_mask", r.hasMask());
        out.put("image_sha256s", r.imageSha256s());
        out.put("mask_sha256", r.maskSha256());
        out.put("status", r.status());
        out.put("fault", r.fault() == null ? null : r.fault().headerValue());
        out.put("received_at", r.receivedAt().toString());
        return out;
    }

    private void updateSettings(HttpExchange exchange) throws IOException {
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            body = json.readTree(in);
        } catch (IOException e) {
            writer.error(exchange, ApiError.invalid(null, "invalid_json", "The body must be a JSON object."), Map.of());
            return;
        }
        if (body == null || !body.isObject()) {
            writer.error(exchange, ApiError.invalid(null, "invalid_json", "The body must be a JSON object."), Map.of());
            return;
        }
        SimulatorSettings next = server.settings();
        Map<String, String> applied = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                next = next.withSetting(SimulatorSettings.keyToEnvName(field.getKey()), field.getValue().asText());
                applied.put(field.getKey(), field.getValue().asText());
            }
        } catch (IllegalArgumentException e) {
            writer.error(exchange, ApiError.invalid(null, "invalid_value", e.getMessage()), Map.of());
            return;
        }
        server.update(next);
        writer.json(exchange, 200, server.settings(), Map.of());
    }
}
