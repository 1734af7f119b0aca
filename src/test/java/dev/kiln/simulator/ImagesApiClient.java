package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/** A bare OpenAI Images API client for the simulator tests, over java.net.http. */
final class ImagesApiClient {

    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final String baseUrl;

    ImagesApiClient(String baseUrl) {
        this.baseUrl = baseUrl;
    }

    HttpResponse<byte[]> generate(Map<String, ?> body, String... headers) {
        try {
            return send(HttpRequest.newBuilder(URI.create(baseUrl + "/images/generations"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))), headers);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** A multipart edit: {@code fields} as text parts, then each file as {@code image[]}, then the mask. */
    HttpResponse<byte[]> edit(Map<String, String> fields, List<byte[]> images, byte[] mask, String... headers) {
        String boundary = "kiln-test-boundary-7f3a";
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        fields.forEach((name, value) -> {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            body.writeBytes(value.getBytes(StandardCharsets.UTF_8));
            body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        });
        for (int i = 0; i < images.size(); i++) {
            filePart(body, boundary, "image[]", "in" + i + ".png", images.get(i));
        }
        if (mask != null) {
            filePart(body, boundary, "mask", "mask.png", mask);
        }
        body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return send(HttpRequest.newBuilder(URI.create(baseUrl + "/images/edits"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())), headers);
    }

    private static void filePart(ByteArrayOutputStream body, String boundary, String name, String filename, byte[] data) {
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\""
                + filename + "\"\r\nContent-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(data);
        body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
    }

    /** {@code headers} are name, value pairs; an {@code Authorization} of {@code sk-test} unless given. */
    HttpResponse<byte[]> send(HttpRequest.Builder request, String... headers) {
        boolean authorization = false;
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
            authorization |= headers[i].equalsIgnoreCase("Authorization");
        }
        if (!authorization) {
            request.header("Authorization", "Bearer sk-test");
        }
        try {
            return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new RuntimeException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
        }
    }

    HttpClient http() {
        return http;
    }

    static JsonNode json(HttpResponse<byte[]> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + new String(response.body(), StandardCharsets.UTF_8), e);
        }
    }

    static byte[] image(HttpResponse<byte[]> response, int index) {
        return Base64.getDecoder().decode(json(response).path("data").path(index).path("b64_json").asText());
    }
}
