package dev.kiln.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * OpenAI's Batch API, as the economy lane needs it: upload a JSONL input file
 * ({@code POST /v1/files}, purpose {@code batch}), create a batch over it with a {@code 24h} window
 * ({@code POST /v1/batches}), read it ({@code GET /v1/batches/{id}}), list recent ones, cancel it,
 * and download its output and error files ({@code GET /v1/files/{id}/content}) to disk, never
 * whole in the heap. Every call throws {@link BatchApiException}, which says whether trying again
 * later makes sense.
 */
@ApplicationScoped
public class BatchApiClient {

    /** A Batch API answer is a small JSON object; anything bigger is refused rather than buffered. */
    private static final int MAX_JSON_ANSWER = 1 << 20;
    /** Uploading a 200 MB input file takes a while; this is per call, not per byte. */
    private static final Duration UPLOAD_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

    private final ProviderConfig config;
    private final ObjectMapper mapper;
    private final HttpClient http;

    public BatchApiClient(ProviderConfig config, ObjectMapper mapper) {
        this.config = config;
        this.mapper = mapper;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(config.connectTimeout())
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    /** Uploads {@code jsonl} with purpose {@code batch}; returns its file id. */
    public String upload(Path jsonl, String filename) throws BatchApiException, InterruptedException {
        MultipartFormPublisher form = new MultipartFormPublisher();
        try {
            form.field("purpose", "batch");
            form.file("file", filename, "application/jsonl", jsonl);
        } catch (java.io.FileNotFoundException e) {
            throw new BatchApiException("the batch input file vanished before upload", false);
        }
        HttpRequest request = request("/files", UPLOAD_TIMEOUT)
                .header("Content-Type", form.contentType())
                .POST(form.build()).build();
        return text(call(request), "id");
    }

    /** Creates a batch of the requests in file {@code inputFileId} for {@code endpoint}, with a 24 h window. */
    public ProviderBatchState create(String inputFileId, String endpoint, Map<String, String> metadata)
            throws BatchApiException, InterruptedException {
        ObjectNode body = mapper.createObjectNode();
        body.put("input_file_id", inputFileId);
        body.put("endpoint", endpoint);
        body.put("completion_window", "24h");
        body.set("metadata", mapper.valueToTree(metadata));
        HttpRequest request = request("/batches", CALL_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .build();
        return state(call(request));
    }

    /** The batch {@code id} as it is now. */
    public ProviderBatchState get(String id) throws BatchApiException, InterruptedException {
        return state(call(request("/batches/" + id, CALL_TIMEOUT).GET().build()));
    }

    /** Asks the provider to cancel batch {@code id}; it ends {@code cancelled} with the results it already had. */
    public ProviderBatchState cancel(String id) throws BatchApiException, InterruptedException {
        return state(call(request("/batches/" + id + "/cancel", CALL_TIMEOUT)
                .POST(HttpRequest.BodyPublishers.noBody()).build()));
    }

    /** The most recent batches (up to 100), newest first: to find one created before a crash recorded it. */
    public List<ProviderBatchState> recent() throws BatchApiException, InterruptedException {
        JsonNode list = call(request("/batches?limit=100", CALL_TIMEOUT).GET().build());
        List<ProviderBatchState> out = new ArrayList<>();
        for (JsonNode batch : list.path("data")) {
            out.add(state(batch));
        }
        return out;
    }

    /** Downloads file {@code fileId} to {@code target}, streamed. */
    public void download(String fileId, Path target) throws BatchApiException, InterruptedException {
        HttpRequest request = request("/files/" + fileId + "/content", UPLOAD_TIMEOUT).GET().build();
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                if (response.statusCode() != 200) {
                    throw failure(response.statusCode(), in.readNBytes(4096));
                }
                java.nio.file.Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new BatchApiException("downloading file " + fileId + " failed: " + e.getClass().getSimpleName(), true);
        }
    }

    private HttpRequest.Builder request(String path, Duration timeout) {
        return HttpRequest.newBuilder(URI.create(config.effectiveBaseUrl() + path))
                .timeout(timeout)
                .header("Authorization", "Bearer " + config.effectiveApiKey())
                .header("Accept", "application/json");
    }

    private JsonNode call(HttpRequest request) throws BatchApiException, InterruptedException {
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                byte[] body = in.readNBytes(MAX_JSON_ANSWER);
                if (response.statusCode() != 200) {
                    throw failure(response.statusCode(), body);
                }
                return mapper.readTree(body);
            }
        } catch (IOException e) {
            // The message names the path only: the URL holds no secret, but keep errors short.
            throw new BatchApiException(request.method() + " " + request.uri().getPath() + " failed: "
                    + e.getClass().getSimpleName(), true);
        }
    }

    private BatchApiException failure(int status, byte[] body) {
        String message;
        try {
            message = mapper.readTree(body).path("error").path("message").asText("");
        } catch (IOException e) {
            message = "";
        }
        boolean retryable = status == 429 || status >= 500;
        return new BatchApiException("the Batch API answered " + status + (message.isEmpty() ? "" : ": " + message), retryable);
    }

    private ProviderBatchState state(JsonNode batch) throws BatchApiException {
        String id = batch.path("id").asText(null);
        if (id == null) {
            throw new BatchApiException("the Batch API answered a batch without an id", true);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        batch.path("metadata").properties().forEach(e -> metadata.put(e.getKey(), e.getValue().asText()));
        return new ProviderBatchState(id, batch.path("status").asText(""), batch.path("output_file_id").asText(null),
                batch.path("error_file_id").asText(null), metadata);
    }

    private static String text(JsonNode node, String field) throws BatchApiException {
        String value = node.path(field).asText(null);
        if (value == null) {
            throw new BatchApiException("the Files API answered without " + field, true);
        }
        return value;
    }
}
