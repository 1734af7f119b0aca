package dev.kiln.simulator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes answers. Image answers are streamed: each image is base64-encoded on its way to the
 * socket rather than built into a String, since a 3840x2160 PNG is tens of megabytes of base64.
 * Every answer carries a Content-Length, computed up front, as OpenAI's do.
 */
final class ResponseWriter {

    private final ObjectMapper json;

    ResponseWriter(ObjectMapper json) {
        this.json = json;
    }

    void json(HttpExchange exchange, int status, Object body, Map<String, String> headers) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        send(exchange, status, "application/json", bytes, headers);
    }

    void error(HttpExchange exchange, ApiError error, Map<String, String> headers) throws IOException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("message", error.getMessage());
        fields.put("type", error.type);
        fields.put("param", error.param);
        fields.put("code", error.code);
        json(exchange, error.status, Map.of("error", fields), headers);
    }

    /** A 200 that is no JSON at all: the start of an images answer, cut off mid-string. */
    void malformed(HttpExchange exchange, long created, Map<String, String> headers) throws IOException {
        byte[] bytes = ("{\"created\":" + created + ",\"data\":[{\"b64_json\":\"iVBORw0KGgoAAAANSUhEUgAA")
                .getBytes(StandardCharsets.US_ASCII);
        send(exchange, 200, "application/json", bytes, headers);
    }

    /**
     * {@code {"created":..,"data":[{"b64_json":..}..],<metadata fields>}}.
     *
     * @param metadata the fields after {@code data}, such as {@code size} and {@code usage}
     */
    void images(HttpExchange exchange, long created, List<byte[]> images, Map<String, Object> metadata,
                Map<String, String> headers) throws IOException {
        byte[] head = ("{\"created\":" + created + ",\"data\":[").getBytes(StandardCharsets.US_ASCII);
        byte[] itemStart = "{\"b64_json\":\"".getBytes(StandardCharsets.US_ASCII);
        byte[] itemEnd = "\"}".getBytes(StandardCharsets.US_ASCII);
        byte[] metadataJson = json.writeValueAsBytes(metadata);
        // "],"..rest of the metadata object without its opening brace
        byte[] tail = new byte[metadataJson.length + 1];
        tail[0] = ']';
        tail[1] = ',';
        System.arraycopy(metadataJson, 1, tail, 2, metadataJson.length - 1);

        long length = head.length + tail.length + Math.max(0, images.size() - 1);
        for (byte[] image : images) {
            length += itemStart.length + base64Length(image.length) + itemEnd.length;
        }
        headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, length);
        try (OutputStream out = new BufferedOutputStream(exchange.getResponseBody(), 1 << 16)) {
            out.write(head);
            for (int i = 0; i < images.size(); i++) {
                if (i > 0) {
                    out.write(',');
                }
                out.write(itemStart);
                try (OutputStream base64 = Base64.getEncoder().wrap(new KeepOpen(out))) {
                    base64.write(images.get(i));
                }
                out.write(itemEnd);
            }
            out.write(tail);
        }
    }

    /** A stored file's bytes, streamed. */
    void file(HttpExchange exchange, java.nio.file.Path path, String contentType) throws IOException {
        long size = java.nio.file.Files.size(path);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(200, size == 0 ? -1 : size);
        try (OutputStream out = exchange.getResponseBody()) {
            java.nio.file.Files.copy(path, out);
        }
    }

    private static long base64Length(long bytes) {
        return 4 * ((bytes + 2) / 3);
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] body,
                             Map<String, String> headers) throws IOException {
        headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** Lets the base64 stream be closed (which writes its padding) without closing the response. */
    private static final class KeepOpen extends FilterOutputStream {
        KeepOpen(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() {
            // the response stream stays open for the rest of the answer
        }
    }
}
