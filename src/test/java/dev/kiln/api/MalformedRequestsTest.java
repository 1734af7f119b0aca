package dev.kiln.api;

import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.TestImages;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Malformed bodies of every kind, sent raw to {@code POST /v1/batches} and {@code POST /v1/uploads}:
 * each must get a 4xx with an RFC 9457 problem body, never a 500 or a stack trace. The fixed rows
 * name a case each; the fuzz rows mutate valid bodies at random (the seed is printed on failure).
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class MalformedRequestsTest {

    private static final String JSON = "application/json";
    private static final String BOUNDARY = "kiln-fuzz";
    private static final String MULTIPART = "multipart/form-data; boundary=" + BOUNDARY;
    private static final String VALID_BATCH = """
            {"defaults":{"size":"1024x1024","quality":"low"},"items":[{"id":"a","prompt":"mug","metadata":{"row":1}}]}""";

    /** Bytes that mean something in JSON or multipart. */
    private static final byte[] SPECIAL = "{}[]\",:\r\n-\\0".getBytes(StandardCharsets.US_ASCII);

    private final HttpClient http = HttpClient.newHttpClient();

    static Stream<Arguments> malformedBatches() {
        return Stream.of(
                Arguments.of("empty body", JSON, ""),
                Arguments.of("not JSON", JSON, "items=1"),
                Arguments.of("truncated", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\""),
                Arguments.of("unclosed string", JSON, "{\"items\": [{\"id\": \"a, \"prompt\": \"p\"}]}"),
                Arguments.of("trailing comma", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\",}]}"),
                Arguments.of("single quotes", JSON, "{'items': []}"),
                Arguments.of("a JSON array", JSON, "[{\"id\": \"a\", \"prompt\": \"p\"}]"),
                Arguments.of("a JSON string", JSON, "\"items\""),
                Arguments.of("null", JSON, "null"),
                Arguments.of("items a string", JSON, "{\"items\": \"a\"}"),
                Arguments.of("item a number", JSON, "{\"items\": [1]}"),
                Arguments.of("n a string", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"n\": \"three\"}]}"),
                Arguments.of("n a fraction", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"n\": 1.5}]}"),
                Arguments.of("n beyond int", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"n\": 99999999999999}]}"),
                Arguments.of("prompt an object", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": {}}]}"),
                Arguments.of("defaults an array", JSON, "{\"defaults\": [], \"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}"),
                Arguments.of("metadata a string", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"metadata\": \"x\"}]}"),
                Arguments.of("references an object", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"reference_images\": {}}]}"),
                Arguments.of("unknown field", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"qualty\": \"high\"}]}"),
                Arguments.of("budget negative", JSON, "{\"budget_usd\": -5, \"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}"),
                Arguments.of("webhook a number", JSON, "{\"webhook\": 42, \"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}"),
                Arguments.of("webhook events a string", JSON, "{\"webhook\": {\"url\": \"https://e.com\", \"events\": \"job.failed\"}, "
                        + "\"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}"),
                Arguments.of("webhook events unknown", JSON, "{\"webhook\": {\"url\": \"https://e.com\", \"events\": [null, 7]}, "
                        + "\"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}"),
                Arguments.of("webhook without url", JSON, "{\"webhook\": {\"events\": []}, \"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}"),
                Arguments.of("deeply nested metadata", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"metadata\": "
                        + "{\"a\":".repeat(2000) + "1" + "}".repeat(2000) + "}]}"),
                Arguments.of("invalid UTF-8", JSON, "{\"items\": [{\"id\": \"a\", \"prompt\": \"\u00ff\u00fe\"}]}"),
                Arguments.of("plain text", "text/plain", VALID_BATCH),
                Arguments.of("form encoded", "application/x-www-form-urlencoded", "items=a"),
                Arguments.of("multipart", MULTIPART, part("file", "a.json", JSON, VALID_BATCH.getBytes()) + end()),
                Arguments.of("xml", "application/xml", "<batch/>"));
    }

    static Stream<Arguments> malformedUploads() {
        String png = new String(TestImages.png(64, 64), StandardCharsets.ISO_8859_1);
        return Stream.of(
                Arguments.of("empty body", MULTIPART, ""),
                Arguments.of("no boundary parameter", "multipart/form-data", part("file", "a.png", "image/png", png) + end()),
                Arguments.of("another boundary than declared", "multipart/form-data; boundary=other", part("file", "a.png", "image/png", png) + end()),
                Arguments.of("garbage", MULTIPART, "this is not multipart at all"),
                Arguments.of("no closing boundary", MULTIPART, part("file", "a.png", "image/png", png)),
                Arguments.of("cut inside the headers", MULTIPART, "--" + BOUNDARY + "\r\nContent-Disposition: form-da"),
                Arguments.of("no blank line after the headers", MULTIPART, "--" + BOUNDARY
                        + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n" + png + end()),
                Arguments.of("no content disposition", MULTIPART, "--" + BOUNDARY + "\r\nContent-Type: image/png\r\n\r\n" + png + end()),
                Arguments.of("disposition without a name", MULTIPART, "--" + BOUNDARY
                        + "\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n\r\n" + png + end()),
                Arguments.of("malformed disposition", MULTIPART, "--" + BOUNDARY
                        + "\r\nContent-Disposition: ;;;=\"\r\n\r\n" + png + end()),
                Arguments.of("file as a text field", MULTIPART, "--" + BOUNDARY
                        + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhello" + end()),
                Arguments.of("only the closing boundary", MULTIPART, end()),
                Arguments.of("two file parts", MULTIPART, part("file", "a.png", "image/png", png)
                        + part("file", "b.png", "image/png", png) + end()),
                Arguments.of("empty file", MULTIPART, part("file", "a.png", "image/png", "") + end()),
                Arguments.of("bad content transfer encoding", MULTIPART, "--" + BOUNDARY
                        + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                        + "Content-Transfer-Encoding: base64\r\n\r\n%%%%" + end()),
                Arguments.of("JSON instead of multipart", JSON, "{\"file\": \"a.png\"}"),
                Arguments.of("raw image", "image/png", png),
                Arguments.of("no content type", null, png));
    }

    @ParameterizedTest(name = "batch: {0}")
    @MethodSource("malformedBatches")
    void everyMalformedBatchGetsAProblem(String name, String contentType, String body) throws Exception {
        assertProblem("/v1/batches", contentType, body.getBytes(name.equals("invalid UTF-8")
                ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8));
    }

    @ParameterizedTest(name = "upload: {0}")
    @MethodSource("malformedUploads")
    void everyMalformedUploadGetsAProblem(String name, String contentType, String body) throws Exception {
        assertProblem("/v1/uploads", contentType, body.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void malformedJsonNamesTheLineAndColumn() throws Exception {
        JsonPath problem = assertProblem("/v1/batches", JSON, "{\"items\": [\n  {\"id\": \"a\" \"prompt\": \"p\"}]}"
                .getBytes(StandardCharsets.UTF_8));
        assertThat(problem.getInt("status")).isEqualTo(400);
        assertThat(problem.getString("errors[0].reason")).contains("line 2, column");
    }

    @Test
    void randomMutationsOfValidBodiesAlwaysGetAProblemOrAreAccepted() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        byte[] batch = VALID_BATCH.getBytes(StandardCharsets.UTF_8);
        byte[] upload = (part("file", "a.png", "image/png", new String(TestImages.png(32, 32), StandardCharsets.ISO_8859_1))
                + end()).getBytes(StandardCharsets.ISO_8859_1);
        for (int round = 0; round < 60; round++) {
            byte[] mutatedBatch = mutate(batch, random);
            byte[] mutatedUpload = mutate(upload, random);
            check(seed, "/v1/batches?dry_run=true", JSON, mutatedBatch);
            check(seed, "/v1/uploads", MULTIPART, mutatedUpload);
        }
    }

    private void check(long seed, String path, String contentType, byte[] body) throws Exception {
        HttpResponse<String> response = send(path, contentType, body);
        assertThat(response.statusCode())
                .as("seed %d, %s, body %s: %s", seed, path, new String(body, StandardCharsets.ISO_8859_1), response.body())
                .isBetween(200, 499);
        if (response.statusCode() >= 400) {
            assertThat(response.headers().firstValue("Content-Type")).as("seed %d", seed).hasValue(Problem.MEDIA_TYPE);
        }
    }

    /** Flips, drops, duplicates or inserts a few bytes, or cuts the body short. */
    private static byte[] mutate(byte[] body, Random random) {
        List<Byte> bytes = new ArrayList<>();
        for (byte b : body) {
            bytes.add(b);
        }
        int edits = 1 + random.nextInt(4);
        for (int i = 0; i < edits && !bytes.isEmpty(); i++) {
            int at = random.nextInt(bytes.size());
            switch (random.nextInt(5)) {
                case 0 -> bytes.set(at, (byte) random.nextInt(256));
                case 1 -> bytes.remove(at);
                case 2 -> bytes.add(at, bytes.get(at));
                case 3 -> bytes.add(at, SPECIAL[random.nextInt(SPECIAL.length)]);
                default -> bytes.subList(at, bytes.size()).clear();
            }
        }
        byte[] out = new byte[bytes.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = bytes.get(i);
        }
        return out;
    }

    private JsonPath assertProblem(String path, String contentType, byte[] body) throws Exception {
        HttpResponse<String> response = send(path, contentType, body);
        assertThat(response.statusCode()).as(response.body()).isBetween(400, 499);
        assertThat(response.headers().firstValue("Content-Type")).as(response.body()).hasValue(Problem.MEDIA_TYPE);
        JsonPath problem = new JsonPath(response.body());
        assertThat(problem.getInt("status")).isEqualTo(response.statusCode());
        assertThat(problem.getString("type")).startsWith("urn:kiln:problem:");
        assertThat(response.body()).doesNotContain("\tat ", "Exception");
        return problem;
    }

    private HttpResponse<String> send(String path, String contentType, byte[] body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(RestAssured.baseURI + ":" + RestAssured.port + path))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String part(String name, String filename, String type, String content) {
        return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename
                + "\"\r\nContent-Type: " + type + "\r\n\r\n" + content + "\r\n";
    }

    private static String part(String name, String filename, String type, byte[] content) {
        return part(name, filename, type, new String(content, StandardCharsets.ISO_8859_1));
    }

    private static String end() {
        return "--" + BOUNDARY + "--\r\n";
    }
}
