package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

class BatchApiTest {

    private SimulatorServer server;
    private ImagesApiClient client;

    private void start(SimulatorSettings settings, BatchLimits limits) {
        server = SimulatorServer.start(settings, limits);
        client = new ImagesApiClient(server.baseUrl());
    }

    private void start(SimulatorSettings settings) {
        start(settings, BatchLimits.OPENAI);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aGenerationsBatchAnswersEveryLineInTheOutputOrTheErrorFile() throws IOException {
        // one request a minute: the batch must not draw on the synchronous limits
        start(SimulatorSettings.defaults().toBuilder().requestsPerMinute(1).imagesPerMinute(1).tokensPerMinute(1).build());
        String input = lines(
                generation("sku-1", "a blue mug", Map.of("size", "1536x1024", "output_format", "webp", "quality", "low")),
                generation("sku-2", "a red chair", Map.of("n", 2, "background", "transparent", "output_format", "png")),
                generation("sku-3", "something FORBIDDEN", Map.of()),
                generation("sku-4", "a lamp", Map.of("size", "1000x1000")));
        JsonNode file = upload("catalogue.jsonl", "batch", input.getBytes(StandardCharsets.UTF_8));
        assertThat(file.path("object").asText()).isEqualTo("file");
        assertThat(file.path("id").asText()).startsWith("file-");
        assertThat(file.path("purpose").asText()).isEqualTo("batch");
        assertThat(file.path("bytes").asLong()).isEqualTo(input.getBytes(StandardCharsets.UTF_8).length);
        assertThat(file.path("filename").asText()).isEqualTo("catalogue.jsonl");

        JsonNode created = createBatch(file.path("id").asText(), "/v1/images/generations", Map.of("nightly", "2024-06-01"));
        assertThat(created.path("object").asText()).isEqualTo("batch");
        assertThat(created.path("id").asText()).startsWith("batch_");
        assertThat(created.path("status").asText()).isEqualTo("validating");
        assertThat(created.path("endpoint").asText()).isEqualTo("/v1/images/generations");
        assertThat(created.path("completion_window").asText()).isEqualTo("24h");
        assertThat(created.path("expires_at").asLong()).isEqualTo(created.path("created_at").asLong() + 86_400);
        assertThat(created.path("metadata").path("nightly").asText()).isEqualTo("2024-06-01");

        JsonNode batch = awaitStatus(created.path("id").asText(), "completed");
        assertThat(batch.path("request_counts").path("total").asInt()).isEqualTo(4);
        assertThat(batch.path("request_counts").path("completed").asInt()).isEqualTo(2);
        assertThat(batch.path("request_counts").path("failed").asInt()).isEqualTo(2);
        assertThat(batch.path("model").asText()).isEqualTo("gpt-image-2");
        assertThat(batch.path("completed_at").isNumber()).isTrue();
        assertThat(batch.path("in_progress_at").isNumber()).isTrue();
        assertThat(batch.path("finalizing_at").isNumber()).isTrue();
        // 1536x1024 low is 294 tokens; 1024x1024 medium 1756, twice
        assertThat(batch.path("usage").path("output_tokens").asLong()).isEqualTo(294 + 2 * 1756);

        Map<String, JsonNode> output = byCustomId(content(batch.path("output_file_id").asText()));
        assertThat(output.keySet()).containsExactlyInAnyOrder("sku-1", "sku-2");
        JsonNode first = output.get("sku-1");
        assertThat(first.path("id").asText()).startsWith("batch_req_");
        assertThat(first.path("error").isNull()).isTrue();
        assertThat(first.path("response").path("status_code").asInt()).isEqualTo(200);
        assertThat(first.path("response").path("request_id").asText()).startsWith("req_");
        JsonNode body = first.path("response").path("body");
        assertThat(body.path("size").asText()).isEqualTo("1536x1024");
        assertThat(body.path("usage").path("output_tokens").asLong()).isEqualTo(294);
        byte[] image = Base64.getDecoder().decode(body.path("data").path(0).path("b64_json").asText());
        assertThat(ImageProbe.probe(image)).contains(new ImageInfo(ImageFormat.WEBP, 1536, 1024));
        assertThat(output.get("sku-2").path("response").path("body").path("data")).hasSize(2);

        Map<String, JsonNode> errors = byCustomId(content(batch.path("error_file_id").asText()));
        assertThat(errors.keySet()).containsExactlyInAnyOrder("sku-3", "sku-4");
        assertThat(errors.get("sku-3").path("response").path("status_code").asInt()).isEqualTo(400);
        assertThat(errors.get("sku-3").path("response").path("body").path("error").path("code").asText())
                .isEqualTo("moderation_blocked");
        assertThat(errors.get("sku-4").path("response").path("body").path("error").path("param").asText()).isEqualTo("size");

        assertThat(server.receivedBatchRequests()).extracting(ReceivedBatchRequest::customId)
                .containsExactly("sku-1", "sku-2", "sku-3", "sku-4");
        assertThat(server.receivedBatchRequests()).allSatisfy(r -> assertThat(r.batchId()).isEqualTo(created.path("id").asText()));
        assertThat(server.receivedBatchRequests().get(0).request().params()).containsEntry("output_format", "webp");
        assertThat(server.received()).as("the synchronous log").isEmpty();
        assertThat(server.batchCount()).isEqualTo(1);
        assertThat(server.batchRenderCount()).isEqualTo(3);
        assertThat(server.rateLimitedCount()).isZero();
        Map<String, Object> sync = Map.of("model", "gpt-image-2", "prompt", "x", "quality", "low");
        assertThat(client.generate(sync).statusCode()).as("the synchronous limits are untouched").isEqualTo(200);
        assertThat(client.generate(sync).statusCode()).as("and hold one request a minute").isEqualTo(429);
    }

    @Test
    void theCompletionDelayIsScaledAndEveryStateIsSeen() throws IOException {
        // 40 s at a scale of 0.05 is 2 s: 0.1 s validating, 1.8 s in progress, 0.1 s finalizing
        start(SimulatorSettings.defaults().toBuilder().batchCompletionDelayMillis(40_000).timeScale(0.05).build());
        JsonNode file = upload("b.jsonl", "batch", lines(generation("a", "a vase", Map.of("quality", "low"))).getBytes());
        long start = System.nanoTime();
        String id = createBatch(file.path("id").asText(), "/v1/images/generations", null).path("id").asText();
        Set<String> seen = ConcurrentHashMap.newKeySet();
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
            String status = batch(id).path("status").asText();
            seen.add(status);
            return status.equals("completed");
        });
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(seen).contains("in_progress", "completed");
        assertThat(elapsedMillis).isBetween(1900L, 10_000L);
    }

    @Test
    void aCancelledBatchGoesThroughCancelling() throws IOException {
        // an hour at a scale of 0.01 is 36 s: 1.8 s validating, then the two lines spread over 32.4 s
        start(SimulatorSettings.defaults().toBuilder().batchCompletionDelayMillis(3_600_000).timeScale(0.01).build());
        JsonNode file = upload("b.jsonl", "batch", lines(generation("a", "a vase", Map.of("quality", "low")),
                generation("b", "a bowl", Map.of("quality", "low"))).getBytes());
        String id = createBatch(file.path("id").asText(), "/v1/images/generations", null).path("id").asText();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.receivedBatchRequests().size() == 1);

        HttpResponse<byte[]> cancel = post("/batches/" + id + "/cancel", "");
        assertThat(cancel.statusCode()).isEqualTo(200);
        assertThat(ImagesApiClient.json(cancel).path("status").asText()).isEqualTo("cancelling");
        JsonNode cancelled = awaitStatus(id, "cancelled");
        assertThat(cancelled.path("cancelling_at").isNumber()).isTrue();
        assertThat(cancelled.path("cancelled_at").isNumber()).isTrue();
        assertThat(cancelled.path("completed_at").isNull()).isTrue();
        // The line run before the cancel keeps its result; the later one never runs.
        assertThat(byCustomId(content(cancelled.path("output_file_id").asText())).keySet()).containsExactly("a");
        assertThat(server.receivedBatchRequests()).hasSize(1);
        assertThat(post("/batches/" + id + "/cancel", "").statusCode()).as("cancelling a cancelled batch").isEqualTo(409);
    }

    @Test
    void malformedLinesFailTheBatchInValidation() throws IOException {
        start(SimulatorSettings.defaults());
        String input = lines(generation("a", "x", Map.of()), generation("a", "y", Map.of()), "{not json",
                "{\"custom_id\":\"c\",\"method\":\"POST\",\"url\":\"/v1/images/edits\",\"body\":{\"model\":\"gpt-image-2\",\"prompt\":\"z\"}}");
        JsonNode file = upload("b.jsonl", "batch", input.getBytes());
        String id = createBatch(file.path("id").asText(), "/v1/images/generations", null).path("id").asText();
        JsonNode failed = awaitStatus(id, "failed");
        assertThat(failed.path("failed_at").isNumber()).isTrue();
        assertThat(failed.path("errors").path("object").asText()).isEqualTo("list");
        List<String> codes = new ArrayList<>();
        failed.path("errors").path("data").forEach(e -> codes.add(e.path("code").asText() + "@" + e.path("line").asInt()));
        assertThat(codes).containsExactly("duplicate_custom_id@2", "invalid_json_line@3", "mismatched_endpoint@4");
        assertThat(server.receivedBatchRequests()).isEmpty();
    }

    @Test
    void theLimitsOfAnInputFileAreEnforced() throws IOException {
        start(SimulatorSettings.defaults(), new BatchLimits(2, 2048));
        HttpResponse<byte[]> tooLarge = uploadResponse("big.jsonl", "batch", new byte[2049]);
        assertThat(tooLarge.statusCode()).isEqualTo(400);
        assertThat(ImagesApiClient.json(tooLarge).path("error").path("code").asText()).isEqualTo("file_too_large");
        assertThat(uploadResponse("big.png", "vision", new byte[4096]).statusCode()).as("only batch inputs").isEqualTo(200);
        assertThat(uploadResponse("input.csv", "batch", "a".getBytes()).statusCode()).isEqualTo(400);

        JsonNode file = upload("b.jsonl", "batch", lines(generation("a", "x", Map.of()), generation("b", "x", Map.of()),
                generation("c", "x", Map.of())).getBytes());
        JsonNode failed = awaitStatus(createBatch(file.path("id").asText(), "/v1/images/generations", null)
                .path("id").asText(), "failed");
        assertThat(failed.path("errors").path("data").path(0).path("code").asText()).isEqualTo("too_many_requests");
        assertThat(BatchLimits.OPENAI).isEqualTo(new BatchLimits(50_000, 200L * 1024 * 1024));
    }

    @Test
    void aBatchOfJsonEditsReadsDataUrlsAndUploadedFiles() throws IOException {
        start(SimulatorSettings.defaults());
        byte[] photo = png(1024, 1024);
        JsonNode uploaded = upload("photo.png", "vision", photo);
        String dataUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(png(640, 480));
        String input = lines(
                line("e1", "/v1/images/edits", Map.of("model", "gpt-image-2", "prompt", "put it on a table",
                        "images", List.of(Map.of("file_id", uploaded.path("id").asText()), Map.of("image_url", dataUrl)),
                        "mask", Map.of("image_url", "data:image/png;base64," + Base64.getEncoder().encodeToString(photo)))),
                line("e2", "/v1/images/edits", Map.of("model", "gpt-image-2", "prompt", "x",
                        "images", List.of(Map.of("file_id", "file-missing")))));
        JsonNode file = upload("edits.jsonl", "batch", input.getBytes());
        JsonNode batch = awaitStatus(createBatch(file.path("id").asText(), "/v1/images/edits", null).path("id").asText(),
                "completed");
        JsonNode e1 = byCustomId(content(batch.path("output_file_id").asText())).get("e1");
        // 1024 tokens for the 1024x1024 image, 300 for 640x480, none for the mask
        assertThat(e1.path("response").path("body").path("usage").path("input_tokens_details").path("image_tokens").asLong())
                .isEqualTo(1324);
        JsonNode e2 = byCustomId(content(batch.path("error_file_id").asText())).get("e2");
        assertThat(e2.path("response").path("status_code").asInt()).isEqualTo(400);
        assertThat(server.receivedBatchRequests().get(0).request()).satisfies(r -> {
            assertThat(r.endpoint()).isEqualTo("edits");
            assertThat(r.imageCount()).isEqualTo(2);
            assertThat(r.hasMask()).isTrue();
        });
    }

    @Test
    void faultsApplyToBatchLines() throws IOException {
        start(SimulatorSettings.defaults().toBuilder().faultRate(Fault.SERVER_ERROR, 1.0).build());
        JsonNode file = upload("b.jsonl", "batch", lines(generation("a", "x", Map.of())).getBytes());
        JsonNode batch = awaitStatus(createBatch(file.path("id").asText(), "/v1/images/generations", null)
                .path("id").asText(), "completed");
        assertThat(batch.path("output_file_id").isNull()).as("no line succeeded").isTrue();
        JsonNode line = byCustomId(content(batch.path("error_file_id").asText())).get("a");
        assertThat(line.path("response").path("status_code").asInt()).isEqualTo(500);
        assertThat(server.receivedBatchRequests().getFirst().request().fault()).isEqualTo(Fault.SERVER_ERROR);
    }

    @Test
    void requestsTheBatchApiRefusesAtOnce() throws IOException {
        start(SimulatorSettings.defaults());
        JsonNode file = upload("b.jsonl", "batch", lines(generation("a", "x", Map.of())).getBytes());
        String id = file.path("id").asText();
        assertThat(post("/batches", "{\"input_file_id\":\"" + id + "\",\"endpoint\":\"/v1/chat/completions\","
                + "\"completion_window\":\"24h\"}").statusCode()).isEqualTo(400);
        assertThat(post("/batches", "{\"input_file_id\":\"" + id + "\",\"endpoint\":\"/v1/images/generations\","
                + "\"completion_window\":\"48h\"}").statusCode()).isEqualTo(400);
        assertThat(post("/batches", "{\"input_file_id\":\"file-nope\",\"endpoint\":\"/v1/images/generations\","
                + "\"completion_window\":\"24h\"}").statusCode()).isEqualTo(404);
        String vision = upload("a.png", "vision", png(16, 16)).path("id").asText();
        assertThat(post("/batches", "{\"input_file_id\":\"" + vision + "\",\"endpoint\":\"/v1/images/generations\","
                + "\"completion_window\":\"24h\"}").statusCode()).isEqualTo(400);
        assertThat(get("/batches/batch_nope").statusCode()).isEqualTo(404);
        assertThat(get("/files/file-nope").statusCode()).isEqualTo(404);
        assertThat(client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/batches")).GET(),
                "Authorization", "Bearer sk-invalid").statusCode()).isEqualTo(401);
        assertThat(server.batchCount()).isZero();
    }

    @Test
    void filesAndBatchesCanBeReadBack() throws Exception {
        start(SimulatorSettings.defaults());
        byte[] content = lines(generation("a", "x", Map.of("quality", "low"))).getBytes();
        String fileId = upload("b.jsonl", "batch", content).path("id").asText();
        assertThat(ImagesApiClient.json(get("/files/" + fileId)).path("bytes").asInt()).isEqualTo(content.length);
        assertThat(get("/files/" + fileId + "/content").body()).isEqualTo(content);
        String id = createBatch(fileId, "/v1/images/generations", null).path("id").asText();
        JsonNode done = awaitStatus(id, "completed");
        JsonNode outputFile = ImagesApiClient.json(get("/files/" + done.path("output_file_id").asText()));
        assertThat(outputFile.path("purpose").asText()).isEqualTo("batch_output");
        assertThat(outputFile.path("filename").asText()).isEqualTo(id + "_output.jsonl");
        JsonNode list = ImagesApiClient.json(get("/batches"));
        assertThat(list.path("data").path(0).path("id").asText()).isEqualTo(id);

        HttpResponse<String> stats = client.http().send(HttpRequest.newBuilder(URI.create(server.rootUrl()
                + "/simulator/stats")).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = ImagesApiClient.JSON.readTree(stats.body());
        assertThat(json.path("batch_count").asInt()).isEqualTo(1);
        assertThat(json.path("batch_request_count").asInt()).isEqualTo(1);
        assertThat(json.path("batch_render_count").asInt()).isEqualTo(1);
        HttpResponse<String> lines = client.http().send(HttpRequest.newBuilder(URI.create(server.rootUrl()
                + "/simulator/batch-requests")).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode line = ImagesApiClient.JSON.readTree(lines.body()).path(0);
        assertThat(line.path("batch_id").asText()).isEqualTo(id);
        assertThat(line.path("custom_id").asText()).isEqualTo("a");
        assertThat(line.path("status").asInt()).isEqualTo(200);
        assertThat(line.path("prompt").asText()).isEqualTo("x");
    }

    // --- helpers ---

    private static String generation(String customId, String prompt, Map<String, Object> params) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", "gpt-image-2");
        body.put("prompt", prompt);
        body.putAll(params);
        return line(customId, "/v1/images/generations", body);
    }

    private static String line(String customId, String url, Map<String, Object> body) {
        try {
            return ImagesApiClient.JSON.writeValueAsString(Map.of("custom_id", customId, "method", "POST", "url", url,
                    "body", body));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static String lines(String... lines) {
        return String.join("\n", lines) + "\n";
    }

    private JsonNode upload(String filename, String purpose, byte[] content) {
        HttpResponse<byte[]> response = uploadResponse(filename, purpose, content);
        assertThat(response.statusCode()).as(new String(response.body())).isEqualTo(200);
        return ImagesApiClient.json(response);
    }

    private HttpResponse<byte[]> uploadResponse(String filename, String purpose, byte[] content) {
        String boundary = "kiln-batch-boundary";
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose
                + "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(content);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
    }

    private JsonNode createBatch(String fileId, String endpoint, Map<String, String> metadata) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("input_file_id", fileId);
        body.put("endpoint", endpoint);
        body.put("completion_window", "24h");
        if (metadata != null) {
            body.put("metadata", metadata);
        }
        HttpResponse<byte[]> response = post("/batches", ImagesApiClient.JSON.writeValueAsString(body));
        assertThat(response.statusCode()).as(new String(response.body())).isEqualTo(200);
        return ImagesApiClient.json(response);
    }

    private HttpResponse<byte[]> post(String path, String json) {
        return client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    private HttpResponse<byte[]> get(String path) {
        return client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path)).GET());
    }

    private JsonNode batch(String id) {
        return ImagesApiClient.json(get("/batches/" + id));
    }

    private JsonNode awaitStatus(String id, String status) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> batch(id).path("status").asText(), s -> s.equals(status) || s.equals("failed")
                        || s.equals("completed") || s.equals("cancelled"));
        JsonNode batch = batch(id);
        assertThat(batch.path("status").asText()).as(batch.toString()).isEqualTo(status);
        return batch;
    }

    private List<JsonNode> content(String fileId) throws IOException {
        assertThat(fileId).isNotBlank();
        HttpResponse<byte[]> response = get("/files/" + fileId + "/content");
        assertThat(response.statusCode()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        for (String line : new String(response.body(), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                out.add(ImagesApiClient.JSON.readTree(line));
            }
        }
        return out;
    }

    private static Map<String, JsonNode> byCustomId(List<JsonNode> lines) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        lines.forEach(line -> out.put(line.path("custom_id").asText(), line));
        return out;
    }

    private static byte[] png(int width, int height) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB), "png", out);
        return out.toByteArray();
    }
}
