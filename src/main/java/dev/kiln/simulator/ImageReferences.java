package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

/**
 * Resolves the image references of a JSON edit ({@code {"image_url": ...}} or {@code {"file_id": ...}})
 * to their bytes, as multipart parts so that both edit bodies share one set of checks.
 */
final class ImageReferences {

    /** Fetching a URL is how OpenAI reads it too; a dead or slow host fails the line, not the batch. */
    private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(20);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(FETCH_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    private ImageReferences() {
    }

    static MultipartForm.Part resolve(JsonNode reference, String param, FileStore files) throws ApiError {
        if (reference == null || !reference.isObject()) {
            throw ApiError.invalid(param, "invalid_type", param + " must hold objects with an image_url or a file_id.");
        }
        JsonNode url = reference.get("image_url");
        JsonNode fileId = reference.get("file_id");
        if ((url == null) == (fileId == null)) {
            throw ApiError.invalid(param, "invalid_value", "Each image reference needs exactly one of image_url and file_id.");
        }
        if (fileId != null) {
            FileStore.StoredFile file = files.get(fileId.asText()).orElseThrow(() -> ApiError.invalid(param,
                    "invalid_value", "No such File object: " + fileId.asText()));
            try {
                return new MultipartForm.Part(param, file.filename(), null, Files.readAllBytes(file.path()));
            } catch (IOException e) {
                throw new ApiError(500, "server_error", null, "server_error", "The file could not be read.", Map.of());
            }
        }
        String text = url.asText();
        if (text.startsWith("data:")) {
            int comma = text.indexOf(',');
            if (comma < 0 || !text.substring(0, comma).endsWith(";base64")) {
                throw ApiError.invalid(param, "invalid_image_url", "A data URL must be base64: data:image/png;base64,...");
            }
            try {
                return new MultipartForm.Part(param, null, null, Base64.getDecoder().decode(text.substring(comma + 1)));
            } catch (IllegalArgumentException e) {
                throw ApiError.invalid(param, "invalid_image_url", "The data URL's base64 is malformed.");
            }
        }
        if (text.startsWith("https://") || text.startsWith("http://")) {
            return new MultipartForm.Part(param, null, null, fetch(text, param));
        }
        throw ApiError.invalid(param, "invalid_image_url", "image_url must be an http(s) or a data URL.");
    }

    private static byte[] fetch(String url, String param) throws ApiError {
        try {
            HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(FETCH_TIMEOUT)
                    .build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                if (response.statusCode() != 200) {
                    throw ApiError.invalid(param, "invalid_image_url", "Error while downloading " + url
                            + ": status " + response.statusCode() + ".");
                }
                byte[] bytes = in.readNBytes(RenderRequestReader.MAX_INPUT_IMAGE_BYTES + 1);
                if (bytes.length > RenderRequestReader.MAX_INPUT_IMAGE_BYTES) {
                    throw ApiError.invalid(param, "image_too_large", "Each image must be smaller than 50 MB.");
                }
                return bytes;
            }
        } catch (IOException | IllegalArgumentException e) {
            throw ApiError.invalid(param, "invalid_image_url", "Error while downloading " + url + ".");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.invalid(param, "invalid_image_url", "Error while downloading " + url + ".");
        }
    }
}
