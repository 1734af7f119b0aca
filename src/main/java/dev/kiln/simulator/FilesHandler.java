package dev.kiln.simulator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The Files API as the Batch API needs it: {@code POST /v1/files} (multipart {@code file} and
 * {@code purpose}), {@code GET /v1/files/{id}} (the File object) and
 * {@code GET /v1/files/{id}/content} (the bytes).
 */
final class FilesHandler implements HttpHandler {

    private static final Set<String> PURPOSES = Set.of("assistants", "batch", "fine-tune", "vision", "user_data", "evals");
    /** Room for the multipart framing around the largest file. */
    private static final long MULTIPART_OVERHEAD = 1024 * 1024;

    private final SimulatorServer server;
    private final ResponseWriter writer;

    FilesHandler(SimulatorServer server, ResponseWriter writer) {
        this.server = server;
        this.writer = writer;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            try {
                Authentication.check(Authentication.bearerKey(exchange), server.settings());
                String[] path = exchange.getRequestURI().getPath().split("/");
                // "", "v1", "files", id, "content"
                String method = exchange.getRequestMethod();
                if (path.length == 3 && method.equals("POST")) {
                    upload(exchange);
                } else if (path.length == 4 && method.equals("GET")) {
                    writer.json(exchange, 200, file(path[3]).toJson(), Map.of());
                } else if (path.length == 5 && path[4].equals("content") && method.equals("GET")) {
                    writer.file(exchange, file(path[3]).path(), "application/octet-stream");
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

    private FileStore.StoredFile file(String id) throws ApiError {
        return server.files().get(id).orElseThrow(() -> new ApiError(404, "invalid_request_error", "id", null,
                "No such File object: " + id, Map.of()));
    }

    private void upload(HttpExchange exchange) throws IOException, ApiError {
        long maxFile = server.batchLimits().maxInputFileBytes();
        long limit = Math.min(Integer.MAX_VALUE - 16, Math.max(server.settings().maxBodyBytes(), maxFile + MULTIPART_OVERHEAD));
        byte[] body;
        try (InputStream in = exchange.getRequestBody()) {
            body = in.readNBytes((int) limit + 1);
        }
        if (body.length > limit) {
            throw new ApiError(413, "invalid_request_error", null, "request_too_large",
                    "The request body is larger than " + limit + " bytes.", Map.of());
        }
        String boundary = MultipartForm.boundaryOf(exchange.getRequestHeaders().getFirst("Content-Type"))
                .orElseThrow(() -> ApiError.invalid(null, "invalid_content_type",
                        "Expected Content-Type multipart/form-data with a boundary."));
        List<MultipartForm.Part> parts;
        try {
            parts = MultipartForm.parse(body, boundary);
        } catch (MultipartForm.MalformedException e) {
            throw ApiError.invalid(null, "invalid_multipart", "Malformed multipart body: " + e.getMessage());
        }
        MultipartForm.Part file = null;
        String purpose = null;
        for (MultipartForm.Part part : parts) {
            switch (part.name()) {
                case "file" -> file = part;
                case "purpose" -> purpose = part.text().trim();
                case "expires_after[anchor]", "expires_after[seconds]" -> {
                    // accepted and ignored: the simulator's files live as long as the simulator
                }
                default -> throw ApiError.invalid(part.name(), "unknown_parameter", "Unknown parameter: '" + part.name() + "'.");
            }
        }
        if (purpose == null) {
            throw ApiError.invalid("purpose", "missing_required_parameter", "Missing required parameter: 'purpose'.");
        }
        if (!PURPOSES.contains(purpose)) {
            throw ApiError.invalid("purpose", "invalid_value", "Invalid value for 'purpose': '" + purpose + "'.");
        }
        if (file == null || file.filename() == null) {
            throw ApiError.invalid("file", "missing_required_parameter", "Missing required parameter: 'file'.");
        }
        if (purpose.equals("batch")) {
            if (!file.filename().toLowerCase(Locale.ROOT).endsWith(".jsonl")) {
                throw ApiError.invalid("file", "invalid_file_format", "Invalid file format for Batch API. Must be .jsonl");
            }
            if (file.body().length > maxFile) {
                throw ApiError.invalid("file", "file_too_large", "A Batch API input file can be at most "
                        + maxFile + " bytes; this one has " + file.body().length + ".");
            }
        }
        writer.json(exchange, 200, server.files().store(file.filename(), purpose, file.body()).toJson(), Map.of());
    }
}
