package dev.kiln.batch;

import dev.kiln.job.JobIds;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import static dev.kiln.batch.AllOrNothingIntakeTest.keyed;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The intake's limits over a raw socket, so that nothing on the client side buffers or retries:
 * a body sent without Content-Length is cut off with 413 as soon as it passes its limit (the
 * client here would send forever), a body declared too large is refused before it is read, and
 * a client that stalls mid-body gets 408 after the read timeout. None of them stages anything.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
@TestProfile(IntakeLimitsTest.SmallLimits.class)
class IntakeLimitsTest {

    static final int LIMIT = 1024 * 1024;
    static final Duration READ_TIMEOUT = Duration.ofSeconds(2);

    /** A 1 MiB limit for both formats and a 2 s read timeout. */
    public static class SmallLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "kiln.http-limits.json-max-bytes", String.valueOf(LIMIT),
                    "kiln.http-limits.ndjson-max-bytes", String.valueOf(LIMIT),
                    "kiln.intake.read-timeout", "PT2S");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"application/x-ndjson", "application/json"})
    void anEndlessChunkedBodyIsCutOffAtTheLimitWith413(String contentType) throws Exception {
        String key = "limit-" + UUID.randomUUID();
        AtomicLong sent = new AtomicLong();
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write(head(contentType, key, null));
            Thread sender = Thread.ofVirtual().start(() -> {
                boolean json = contentType.equals("application/json");
                try {
                    if (json) {
                        out.write(chunk("{\"items\": [".getBytes(StandardCharsets.UTF_8)));
                    }
                    for (int i = 0; sent.get() < 100L * LIMIT; i++) { // far past the limit: only a cut-off ends this
                        byte[] line = ((json && i > 0 ? "," : "") + "{\"id\": \"SKU-" + i + "\", \"prompt\": \""
                                + "x".repeat(200) + "\"}\n").getBytes(StandardCharsets.UTF_8);
                        out.write(chunk(line));
                        sent.addAndGet(line.length);
                    }
                } catch (IOException closed) {
                    // the server stopped reading and closed the connection: expected
                }
            });
            String response = readResponse(socket.getInputStream());
            assertThat(response).startsWith("HTTP/1.1 413");
            assertThat(response).contains("application/problem+json").contains("at most " + LIMIT + " bytes");
            sender.join(Duration.ofSeconds(10));
            assertThat(sent.get()).as("the client was stopped long before it finished").isLessThan(20L * LIMIT);
        }
        assertThat(keyed(JobIds.batchIdFor("default", key), "kiln.items", "read_uncommitted")).isEmpty();
    }

    @Test
    void aBodyDeclaredTooLargeIsRefusedBeforeItIsRead() throws Exception {
        try (Socket socket = connect()) {
            socket.getOutputStream().write(head("application/x-ndjson", "declared-" + UUID.randomUUID(), LIMIT + 1L));
            String response = readResponse(socket.getInputStream());
            assertThat(response).startsWith("HTTP/1.1 413").contains("application/problem+json");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"application/x-ndjson", "application/json"})
    void aClientThatStallsMidBodyGets408AndNothingIsStaged(String contentType) throws Exception {
        String key = "stall-" + UUID.randomUUID();
        try (Socket socket = connect()) {
            socket.setSoTimeout((int) READ_TIMEOUT.multipliedBy(10).toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(head(contentType, key, null));
            String start = contentType.equals("application/json") ? "{\"items\": [{\"id\": \"A\", \"prompt\": \"p\"}"
                    : "{\"id\": \"A\", \"prompt\": \"p\"}\n{\"id\": \"B\", \"pro";
            out.write(chunk(start.getBytes(StandardCharsets.UTF_8)));
            out.flush();
            long before = System.nanoTime();
            String response = readResponse(socket.getInputStream()); // and send nothing more
            Duration waited = Duration.ofNanos(System.nanoTime() - before);
            assertThat(response).startsWith("HTTP/1.1 408").contains("application/problem+json").contains("nothing was accepted");
            assertThat(waited).isBetween(READ_TIMEOUT.minusMillis(200), READ_TIMEOUT.multipliedBy(5));
        }
        String batchId = JobIds.batchIdFor("default", key);
        assertThat(keyed(batchId, "kiln.items", "read_uncommitted")).isEmpty();
        given().get("/v1/batches/" + batchId).then().statusCode(404);
    }

    @Test
    void aBodyWithinTheLimitStillPasses() {
        given().contentType("application/x-ndjson").body("{\"id\": \"A\", \"prompt\": \"a mug\"}\n".getBytes(StandardCharsets.UTF_8))
                .when().post("/v1/batches?dry_run=false")
                .then().statusCode(202);
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket("localhost", RestAssured.port);
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static byte[] head(String contentType, String key, Long length) {
        String framing = length == null ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + length + "\r\n";
        return ("POST /v1/batches HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + contentType + "\r\n"
                + "Idempotency-Key: " + key + "\r\n" + framing + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] chunk(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(data);
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** The status line, headers and as much of the body as arrives before the server closes or 2 s pass. */
    private static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        int n;
        try {
            while ((n = in.read(buffer)) > 0) {
                seen.write(buffer, 0, n);
                String text = seen.toString(StandardCharsets.UTF_8);
                int headEnd = text.indexOf("\r\n\r\n");
                if (headEnd > 0 && text.substring(headEnd).contains("}")) {
                    break;
                }
            }
        } catch (java.net.SocketException reset) {
            // a reset after the answer still leaves what was read
        }
        return seen.toString(StandardCharsets.UTF_8);
    }
}
