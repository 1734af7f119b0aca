package dev.kiln.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.ImageInfo;
import dev.kiln.image.ImageProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SimulatorServerTest {

    private static SimulatorServer server;
    private static ImagesApiClient client;

    @BeforeAll
    static void start() {
        server = SimulatorServer.start(SimulatorSettings.defaults());
        client = new ImagesApiClient(server.baseUrl());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void freshServer() {
        server.update(SimulatorSettings.defaults());
        server.reset();
    }

    @Test
    void baseUrlAndHealth() throws Exception {
        assertThat(server.baseUrl()).isEqualTo("http://127.0.0.1:" + server.port() + "/v1");
        HttpResponse<String> health = client.http().send(
                HttpRequest.newBuilder(URI.create(server.rootUrl() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
    }

    @ParameterizedTest(name = "{0} at 1536x1024")
    @ValueSource(strings = {"png", "jpeg", "webp"})
    void rendersEachFormatAtExactlyTheRequestedSize(String format, @org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        HttpResponse<byte[]> response = client.generate(Map.of("model", "gpt-image-2", "prompt", "a teapot",
                "size", "1536x1024", "output_format", format, "quality", "low"));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode json = ImagesApiClient.json(response);
        assertThat(json.path("size").asText()).isEqualTo("1536x1024");
        assertThat(json.path("output_format").asText()).isEqualTo(format);
        assertThat(json.path("quality").asText()).isEqualTo("low");
        assertThat(json.path("background").asText()).isEqualTo("opaque");
        assertThat(json.path("data")).hasSize(1);
        byte[] image = ImagesApiClient.image(response, 0);
        assertThat(ImageProbe.probe(image)).contains(new ImageInfo(ImageFormat.fromName(format), 1536, 1024));
        if (!format.equals("webp")) {
            BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image));
            assertThat(decoded.getWidth()).isEqualTo(1536);
            assertThat(decoded.getHeight()).isEqualTo(1024);
        } else if (dwebpInstalled()) {
            Path file = dir.resolve("out.webp");
            Files.write(file, image);
            Process dwebp = new ProcessBuilder("dwebp", file.toString(), "-o", dir.resolve("out.png").toString())
                    .redirectErrorStream(true).start();
            String output = new String(dwebp.getInputStream().readAllBytes());
            assertThat(dwebp.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(dwebp.exitValue()).as(output).isZero();
            assertThat(ImageIO.read(dir.resolve("out.png").toFile()).getWidth()).isEqualTo(1536);
        }
        assertThat(server.renderCount()).isEqualTo(1);
    }

    @Test
    void usageFollowsTheDocumentedFormula() {
        HttpResponse<byte[]> response = client.generate(Map.of("model", "gpt-image-2", "prompt", "abcdefghi",
                "size", "1024x1536", "quality", "high", "n", 2));
        JsonNode usage = ImagesApiClient.json(response).path("usage");
        assertThat(usage.path("input_tokens_details").path("text_tokens").asLong()).isEqualTo(3); // ceil(9 / 4)
        assertThat(usage.path("input_tokens_details").path("image_tokens").asLong()).isZero();
        assertThat(usage.path("input_tokens").asLong()).isEqualTo(3);
        assertThat(usage.path("output_tokens").asLong()).isEqualTo(2 * 10536); // 7024 * 1.5 megapixels, twice
        assertThat(usage.path("total_tokens").asLong()).isEqualTo(3 + 2 * 10536);
        assertThat(ImagesApiClient.json(response).path("data")).hasSize(2);
        assertThat(server.renderCount()).isEqualTo(2);
    }

    @Test
    void autoSizeAndQualityResolveToTheirDefaults() {
        JsonNode json = ImagesApiClient.json(client.generate(Map.of("model", "gpt-image-2", "prompt", "x",
                "size", "auto", "quality", "auto")));
        assertThat(json.path("size").asText()).isEqualTo("1024x1024");
        assertThat(json.path("quality").asText()).isEqualTo("medium");
        assertThat(json.path("output_format").asText()).isEqualTo("png");
        assertThat(json.path("usage").path("output_tokens").asLong()).isEqualTo(1756);
    }

    @Test
    void transparentBackgroundHasAlpha() throws IOException {
        HttpResponse<byte[]> response = client.generate(Map.of("model", "gpt-image-2", "prompt", "a chair",
                "background", "transparent", "output_format", "png"));
        assertThat(ImagesApiClient.json(response).path("background").asText()).isEqualTo("transparent");
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(ImagesApiClient.image(response, 0)));
        assertThat(image.getColorModel().hasAlpha()).isTrue();
        assertThat(image.getRGB(0, 0) >>> 24).as("corner alpha").isZero();
        assertThat(image.getRGB(512, 512) >>> 24).as("centre alpha").isEqualTo(255);
    }

    @Test
    void differentPromptsAndIndexesGiveDifferentImages() {
        byte[] teapot = ImagesApiClient.image(client.generate(Map.of("model", "gpt-image-2", "prompt", "a teapot")), 0);
        byte[] teapotAgain = ImagesApiClient.image(client.generate(Map.of("model", "gpt-image-2", "prompt", "a teapot")), 0);
        HttpResponse<byte[]> kettles = client.generate(Map.of("model", "gpt-image-2", "prompt", "a kettle", "n", 2));
        assertThat(teapotAgain).isEqualTo(teapot);
        assertThat(ImagesApiClient.image(kettles, 0)).isNotEqualTo(teapot);
        assertThat(ImagesApiClient.image(kettles, 1)).isNotEqualTo(ImagesApiClient.image(kettles, 0));
    }

    @Test
    void validationErrorsAnswer400InOpenAisShape() {
        assertInvalid(Map.of("model", "gpt-image-2", "prompt", "x", "size", "1000x1000"), "size", "invalid_value");
        assertInvalid(Map.of("model", "gpt-image-2", "prompt", "x", "background", "transparent",
                "output_format", "jpeg"), "background", "invalid_value");
        assertInvalid(Map.of("model", "gpt-image-2", "prompt", "x", "n", 11), "n", "invalid_value");
        assertInvalid(Map.of("model", "gpt-image-2", "prompt", "x", "n", "2"), "n", "invalid_type");
        assertInvalid(Map.of("model", "gpt-image-2", "prompt", "x", "output_compression", 50), "output_compression",
                "invalid_value");
        assertInvalid(Map.of("model", "gpt-image-2", "prompt", "x", "response_format", "url"), "response_format",
                "unknown_parameter");
        assertInvalid(Map.of("model", "gpt-image-2"), "prompt", "missing_required_parameter");
        assertInvalid(Map.of("prompt", "x"), "model", "missing_required_parameter");
        assertInvalid(Map.of("model", "dall-e-3", "prompt", "x"), "model", "invalid_value");
        assertThat(server.renderCount()).isZero();
        assertThat(server.received()).hasSize(9).allSatisfy(r -> assertThat(r.status()).isEqualTo(400));
    }

    private static void assertInvalid(Map<String, ?> body, String param, String code) {
        HttpResponse<byte[]> response = client.generate(body);
        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = ImagesApiClient.json(response).path("error");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.path("param").asText()).isEqualTo(param);
        assertThat(error.path("code").asText()).isEqualTo(code);
        assertThat(error.path("message").asText()).isNotBlank();
    }

    @Test
    void malformedJsonBodyAnswers400() {
        HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/images/generations"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":")));
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(ImagesApiClient.json(response).path("error").path("code").asText()).isEqualTo("invalid_json");
    }

    @Test
    void moderationMarkerIsRefusedWithoutRendering() {
        HttpResponse<byte[]> response = client.generate(Map.of("model", "gpt-image-2",
                "prompt", "a Forbidden thing on a shelf"));
        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = ImagesApiClient.json(response).path("error");
        assertThat(error.path("code").asText()).isEqualTo("moderation_blocked");
        assertThat(error.path("type").asText()).isEqualTo("image_generation_user_error");
        assertThat(error.path("message").asText()).startsWith("Your request was rejected by the safety system");
        assertThat(server.renderCount()).isZero();

        server.update(SimulatorSettings.defaults().toBuilder().moderationMarker("taboo").build());
        assertThat(client.generate(Map.of("model", "gpt-image-2", "prompt", "a FORBIDDEN thing")).statusCode())
                .isEqualTo(200);
        assertThat(client.generate(Map.of("model", "gpt-image-2", "prompt", "a TABOO thing")).statusCode())
                .isEqualTo(400);
    }

    @Test
    void apiKeysAreChecked() {
        Map<String, Object> body = Map.of("model", "gpt-image-2", "prompt", "x");
        HttpResponse<byte[]> invalid = client.generate(body, "Authorization", "Bearer sk-invalid");
        assertThat(invalid.statusCode()).isEqualTo(401);
        assertThat(ImagesApiClient.json(invalid).path("error").path("code").asText()).isEqualTo("invalid_api_key");
        assertThat(client.generate(body, "Authorization", "Basic abc").statusCode()).isEqualTo(401);

        server.update(SimulatorSettings.defaults().toBuilder().acceptedApiKeys(java.util.Set.of("sk-kiln")).build());
        assertThat(client.generate(body).statusCode()).isEqualTo(401);
        assertThat(client.generate(body, "Authorization", "Bearer sk-kiln").statusCode()).isEqualTo(200);
        assertThat(server.received()).extracting(ReceivedRequest::apiKey)
                .containsExactly("sk-invalid", null, "sk-test", "sk-kiln");
    }

    @Test
    void imagesPerMinuteAnswers429WithHeadersAndRecoversAfterRefill() throws InterruptedException {
        // 60 IPM with a 2 s burst: the bucket holds 2 images and gains one a second, slow enough
        // that the first answer's rendering does not refill it before the second call asks for 2
        server.update(SimulatorSettings.defaults().toBuilder().imagesPerMinute(60).burstSeconds(2).build());
        HttpResponse<byte[]> first = client.generate(Map.of("model", "gpt-image-2", "prompt", "x", "n", 2));
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("x-ratelimit-limit-images")).hasValue("60");
        assertThat(first.headers().firstValue("x-ratelimit-remaining-images")).hasValue("0");
        assertThat(first.headers().firstValue("x-ratelimit-reset-images")).get().asString().matches("\\d+(\\.\\d+)?m?s");
        assertThat(first.headers().firstValue("x-ratelimit-limit-requests")).isEmpty(); // RPM unlimited

        HttpResponse<byte[]> limited = client.generate(Map.of("model", "gpt-image-2", "prompt", "x", "n", 2));
        assertThat(limited.statusCode()).isEqualTo(429);
        JsonNode error = ImagesApiClient.json(limited).path("error");
        assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error.path("type").asText()).isEqualTo("images");
        assertThat(error.path("message").asText()).contains("images per min").contains("Please try again in");
        long retryAfterMs = Long.parseLong(limited.headers().firstValue("retry-after-ms").orElseThrow());
        assertThat(retryAfterMs).isBetween(1L, 2001L);
        assertThat(limited.headers().firstValue("retry-after")).get().asString().matches("[12]");
        assertThat(server.rateLimitedCount()).isEqualTo(1);
        assertThat(server.renderCount()).isEqualTo(2);

        Thread.sleep(retryAfterMs + 20);
        assertThat(client.generate(Map.of("model", "gpt-image-2", "prompt", "x", "n", 2)).statusCode()).isEqualTo(200);
        assertThat(server.renderCount()).isEqualTo(4);
    }

    @Test
    void requestsPerMinuteAnswers429OfTypeRequests() {
        server.update(SimulatorSettings.defaults().toBuilder().requestsPerMinute(1).build());
        assertThat(client.generate(Map.of("model", "gpt-image-2", "prompt", "x")).statusCode()).isEqualTo(200);
        HttpResponse<byte[]> limited = client.generate(Map.of("model", "gpt-image-2", "prompt", "x"));
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(ImagesApiClient.json(limited).path("error").path("type").asText()).isEqualTo("requests");
        assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
        assertThat(Long.parseLong(limited.headers().firstValue("retry-after").orElseThrow())).isBetween(59L, 60L);
    }

    @Test
    void tokensPerMinuteChargesOutputTokensAndAnswers429OfTypeTokens() {
        // a medium 1024x1024 image is 1756 output tokens: two fit in 4000, the third does not
        server.update(SimulatorSettings.defaults().toBuilder().tokensPerMinute(4000).build());
        Map<String, Object> body = Map.of("model", "gpt-image-2", "prompt", "x", "quality", "medium", "size", "1024x1024");
        HttpResponse<byte[]> first = client.generate(body);
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("4000");
        assertThat(Long.parseLong(first.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow()))
                .isBetween(2244L, 2270L);
        assertThat(first.headers().firstValue("x-ratelimit-reset-tokens")).get().asString().matches("2[67](\\.\\d+)?s");
        assertThat(client.generate(body).statusCode()).isEqualTo(200);

        HttpResponse<byte[]> limited = client.generate(body);
        assertThat(limited.statusCode()).isEqualTo(429);
        JsonNode error = ImagesApiClient.json(limited).path("error");
        assertThat(error.path("type").asText()).isEqualTo("tokens");
        assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
        // the bucket refills by some 67 tokens a second between the calls
        assertThat(error.path("message").asText())
                .matches("Rate limit reached for gpt-image-2 in organization \\S+ on tokens per min \\(TPM\\): "
                        + "Limit 4000, Used 3\\d{3}, Requested 1756\\. Please try again in [\\d.]+m?s\\. .*");
        assertThat(Long.parseLong(limited.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow()))
                .isBetween(488L, 650L);
        assertThat(limited.headers().firstValue("retry-after-ms")).isPresent();
        assertThat(server.renderCount()).isEqualTo(2);
    }

    @Test
    void aRenderIsListedInProgressUntilItIsAnswered() throws Exception {
        server.update(SimulatorSettings.defaults().toBuilder().latency(new Latency(1500, 0)).build());
        var answer = java.util.concurrent.CompletableFuture.supplyAsync(() ->
                client.generate(Map.of("model", "gpt-image-2", "prompt", "a slow teapot", "size", "1024x1024", "quality", "low")));
        // An earlier test's hang may still be in progress: only this prompt counts.
        java.util.function.Supplier<List<ReceivedRequest>> slow = () -> server.inProgress().stream()
                .filter(r -> "a slow teapot".equals(r.prompt())).toList();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !slow.get().isEmpty());
        assertThat(slow.get()).singleElement().satisfies(r -> {
            assertThat(r.apiKey()).isEqualTo("sk-test");
            assertThat(r.status()).isZero();
        });
        assertThat(server.received()).as("logged only once answered").isEmpty();

        assertThat(answer.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(slow.get()).isEmpty();
        assertThat(server.received()).singleElement().satisfies(r -> assertThat(r.status()).isEqualTo(200));
    }

    @Test
    void faultServerError() {
        HttpResponse<byte[]> response = generateWithFault("5xx");
        assertThat(response.statusCode()).isEqualTo(500);
        assertThat(ImagesApiClient.json(response).path("error").path("type").asText()).isEqualTo("server_error");
        assertThat(server.received()).singleElement().satisfies(r -> {
            assertThat(r.fault()).isEqualTo(Fault.SERVER_ERROR);
            assertThat(r.status()).isEqualTo(500);
        });
    }

    @Test
    void faultHangOutlastsTheClient() {
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.baseUrl() + "/images/generations"))
                .header("Authorization", "Bearer sk-test")
                .header("Content-Type", "application/json")
                .header(Fault.HEADER, "hang")
                .timeout(Duration.ofMillis(300))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-image-2\",\"prompt\":\"x\"}"))
                .build();
        assertThatThrownBy(() -> client.http().send(request, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(HttpTimeoutException.class);
    }

    @Test
    void faultHangAnswers500WhenItEnds() {
        server.update(SimulatorSettings.defaults().toBuilder().hangMillis(50).build());
        assertThat(generateWithFault("hang").statusCode()).isEqualTo(500);
    }

    @Test
    void faultMalformedJson() {
        HttpResponse<byte[]> response = generateWithFault("malformed-json");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThatThrownBy(() -> ImagesApiClient.JSON.readTree(response.body())).isInstanceOf(IOException.class);
    }

    @Test
    void faultTruncatedBase64() throws IOException {
        HttpResponse<byte[]> response = generateWithFault("truncated-b64");
        assertThat(response.statusCode()).isEqualTo(200);
        byte[] image = ImagesApiClient.image(response, 0);
        byte[] whole = ImagesApiClient.image(client.generate(Map.of("model", "gpt-image-2", "prompt", "x")), 0);
        assertThat(image.length).isLessThan(whole.length * 2 / 3);
        assertThat(java.util.Arrays.equals(image, 0, image.length, whole, 0, image.length)).isTrue();
        assertThatThrownBy(() -> ImageIO.read(new ByteArrayInputStream(image))).isInstanceOf(IOException.class);
    }

    @Test
    void faultRateLimitWithoutRetryAfter() {
        HttpResponse<byte[]> response = generateWithFault("429-no-retry-after");
        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(ImagesApiClient.json(response).path("error").path("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(response.headers().firstValue("retry-after")).isEmpty();
        assertThat(response.headers().firstValue("retry-after-ms")).isEmpty();
        assertThat(server.rateLimitedCount()).isEqualTo(1);
    }

    @Test
    void faultWrongSize() {
        HttpResponse<byte[]> response = generateWithFault("wrong-size");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(ImagesApiClient.json(response).path("size").asText()).isEqualTo("1024x1024");
        assertThat(ImageProbe.probe(ImagesApiClient.image(response, 0)).orElseThrow().size()).isEqualTo("512x512");
    }

    @Test
    void unknownFaultHeaderAnswers400() {
        assertThat(generateWithFault("gremlins").statusCode()).isEqualTo(400);
    }

    @Test
    void faultRatesApplyWithoutHeaders() {
        server.update(SimulatorSettings.defaults().toBuilder().faultRate(Fault.SERVER_ERROR, 1.0).build());
        assertThat(client.generate(Map.of("model", "gpt-image-2", "prompt", "x")).statusCode()).isEqualTo(500);
        server.update(SimulatorSettings.defaults().toBuilder().faultRate(Fault.SERVER_ERROR, 0.5).seed(7).build());
        long failures = java.util.stream.IntStream.range(0, 40)
                .map(i -> client.generate(Map.of("model", "gpt-image-2", "prompt", "x", "quality", "low",
                        "size", "1024x640")).statusCode())
                .filter(status -> status == 500).count();
        assertThat(failures).isBetween(8L, 32L);
    }

    @Test
    void latencyByQuality() {
        server.update(SimulatorSettings.defaults().toBuilder().latencyHigh(new Latency(300, 50)).build());
        long start = System.nanoTime();
        client.generate(Map.of("model", "gpt-image-2", "prompt", "x", "quality", "low"));
        long low = System.nanoTime() - start;
        start = System.nanoTime();
        client.generate(Map.of("model", "gpt-image-2", "prompt", "x", "quality", "high"));
        long high = System.nanoTime() - start;
        assertThat(TimeUnit.NANOSECONDS.toMillis(high)).isGreaterThanOrEqualTo(250);
        assertThat(low).isLessThan(high);
    }

    @Test
    void editsWithTwoImagesAndAMask() throws IOException {
        byte[] photo = png(1024, 1024);
        HttpResponse<byte[]> response = client.edit(
                Map.of("model", "gpt-image-2", "prompt", "put it on a table", "input_fidelity", "high",
                        "size", "1024x1536", "n", "2"),
                List.of(photo, png(640, 480)), png(1024, 1024));
        assertThat(response.statusCode()).as(new String(response.body())).isEqualTo(200);
        JsonNode json = ImagesApiClient.json(response);
        assertThat(json.path("data")).hasSize(2);
        assertThat(ImageProbe.probe(ImagesApiClient.image(response, 1)).orElseThrow().size()).isEqualTo("1024x1536");
        // 1024 tokens for the 1024x1024 image, 300 for 640x480, none for the mask
        assertThat(json.path("usage").path("input_tokens_details").path("image_tokens").asLong()).isEqualTo(1324);
        assertThat(server.received()).singleElement().satisfies(r -> {
            assertThat(r.endpoint()).isEqualTo("edits");
            assertThat(r.imageCount()).isEqualTo(2);
            assertThat(r.hasMask()).isTrue();
            assertThat(r.params()).containsEntry("input_fidelity", "high");
            assertThat(r.accepted()).isTrue();
        });
    }

    @Test
    void editsRequireAnImage() throws IOException {
        HttpResponse<byte[]> response = client.edit(Map.of("model", "gpt-image-2", "prompt", "x"),
                List.of(), null);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(ImagesApiClient.json(response).path("error").path("param").asText()).isEqualTo("image");
    }

    @Test
    void editsRefuseAMaskOfOtherDimensions() throws IOException {
        HttpResponse<byte[]> response = client.edit(Map.of("model", "gpt-image-2", "prompt", "x"),
                List.of(png(1024, 1024), png(1024, 1024)), png(512, 512));
        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = ImagesApiClient.json(response).path("error");
        assertThat(error.path("param").asText()).isEqualTo("mask");
        assertThat(error.path("message").asText()).contains("512x512").contains("1024x1024");
        assertThat(server.renderCount()).isZero();
    }

    @Test
    void editsRefuseFilesThatAreNoImages() {
        HttpResponse<byte[]> response = client.edit(Map.of("model", "gpt-image-2", "prompt", "x"),
                List.of("not an image".getBytes()), null);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(ImagesApiClient.json(response).path("error").path("code").asText()).isEqualTo("invalid_image_format");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "商品写真：白い背景の上の青いマグカップ、柔らかい光",
            "صورة منتج: كوب أزرق على خلفية بيضاء، إضاءة ناعمة",
            "उत्पाद फ़ोटो: सफ़ेद पृष्ठभूमि पर नीला मग, नरम रोशनी",
            "emoji 🫖 and combining é and \u200d joiners"})
    void promptsArriveByteForByte(String prompt) throws IOException {
        String expected = Hashes.sha256Hex(prompt);
        HttpResponse<byte[]> generated = client.generate(Map.of("model", "gpt-image-2", "prompt", prompt));
        assertThat(generated.headers().firstValue(ImagesHandler.PROMPT_SHA256_HEADER)).hasValue(expected);
        HttpResponse<byte[]> edited = client.edit(Map.of("model", "gpt-image-2", "prompt", prompt),
                List.of(png(1024, 1024)), null);
        assertThat(edited.headers().firstValue(ImagesHandler.PROMPT_SHA256_HEADER)).hasValue(expected);
        assertThat(server.received()).extracting(ReceivedRequest::prompt).containsExactly(prompt, prompt);
        assertThat(server.received()).extracting(ReceivedRequest::promptSha256).containsOnly(expected);
    }

    @Test
    void largestSizeRenders() {
        HttpResponse<byte[]> response = client.generate(Map.of("model", "gpt-image-2", "prompt", "a billboard",
                "size", "3840x2160", "quality", "low"));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(ImageProbe.probe(ImagesApiClient.image(response, 0)).orElseThrow().size()).isEqualTo("3840x2160");
    }

    @Test
    void adminEndpointChangesSettings() throws Exception {
        HttpResponse<String> updated = client.http().send(
                HttpRequest.newBuilder(URI.create(server.rootUrl() + "/simulator/settings"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"ipm\": 1, \"fault-5xx-rate\": 0}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(updated.statusCode()).as(updated.body()).isEqualTo(200);
        assertThat(server.settings().imagesPerMinute()).isEqualTo(1);
        assertThat(client.generate(Map.of("model", "gpt-image-2", "prompt", "x")).statusCode()).isEqualTo(200);
        assertThat(client.generate(Map.of("model", "gpt-image-2", "prompt", "x")).statusCode()).isEqualTo(429);

        HttpResponse<String> received = client.http().send(
                HttpRequest.newBuilder(URI.create(server.rootUrl() + "/simulator/received")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(ImagesApiClient.JSON.readTree(received.body())).hasSize(2);
        HttpResponse<String> bad = client.http().send(
                HttpRequest.newBuilder(URI.create(server.rootUrl() + "/simulator/settings"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"nonsense\": 1}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(400);
    }

    private static HttpResponse<byte[]> generateWithFault(String fault) {
        return client.generate(Map.of("model", "gpt-image-2", "prompt", "x"), Fault.HEADER, fault);
    }

    private static byte[] png(int width, int height) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB), "png", out);
        return out.toByteArray();
    }

    private static boolean dwebpInstalled() {
        return java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .anyMatch(dir -> Files.isExecutable(Path.of(dir, "dwebp")));
    }
}
