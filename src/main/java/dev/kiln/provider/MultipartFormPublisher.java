package dev.kiln.provider;

import java.io.FileNotFoundException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A {@code multipart/form-data} body (RFC 7578) for the JDK HTTP client, streamed from its parts:
 * files are read as the request is sent, never loaded whole, so an edit with sixteen 50 MB
 * references costs no more heap than a generation. Every part has a known length, so the body
 * has one too and is sent with {@code Content-Length} rather than chunked.
 */
final class MultipartFormPublisher {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final String boundary;
    private final List<HttpRequest.BodyPublisher> parts = new ArrayList<>();

    MultipartFormPublisher() {
        byte[] random = new byte[16];
        RANDOM.nextBytes(random);
        // Random, so that no prompt can contain it by chance or by design.
        this.boundary = "kiln-" + HexFormat.of().formatHex(random);
    }

    /** The request's {@code Content-Type}, naming the boundary. */
    String contentType() {
        return "multipart/form-data; boundary=" + boundary;
    }

    /** A text field; its value goes as UTF-8, byte for byte. */
    MultipartFormPublisher field(String name, String value) {
        parts.add(ascii("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n"));
        parts.add(HttpRequest.BodyPublishers.ofByteArray(value.getBytes(StandardCharsets.UTF_8)));
        parts.add(ascii("\r\n"));
        return this;
    }

    /**
     * A file field, read from {@code file} while the request is sent.
     *
     * @throws FileNotFoundException when the file is gone
     */
    MultipartFormPublisher file(String name, String filename, String contentType, Path file) throws FileNotFoundException {
        parts.add(ascii("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\""
                + filename + "\"\r\nContent-Type: " + contentType + "\r\n\r\n"));
        parts.add(HttpRequest.BodyPublishers.ofFile(file));
        parts.add(ascii("\r\n"));
        return this;
    }

    /** The whole body, closed by the final boundary. */
    HttpRequest.BodyPublisher build() {
        List<HttpRequest.BodyPublisher> all = new ArrayList<>(parts);
        all.add(ascii("--" + boundary + "--\r\n"));
        return HttpRequest.BodyPublishers.concat(all.toArray(HttpRequest.BodyPublisher[]::new));
    }

    private static HttpRequest.BodyPublisher ascii(String text) {
        return HttpRequest.BodyPublishers.ofString(text, StandardCharsets.US_ASCII);
    }
}
