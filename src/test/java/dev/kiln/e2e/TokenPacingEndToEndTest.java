package dev.kiln.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageTokens;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * {@code KILN_RATE_TPM} on the real stack: 12 jobs of one 3840×2160 high-quality image each
 * (55,561 output tokens apiece) against a simulator that enforces 1,200,000 TPM with a 10 s burst,
 * and no IPM limit at all in Kiln, so that only token pacing can keep the calls under the TPM.
 * Each call's output tokens are charged up front by the simulator, which answers 429 beyond its
 * bucket: no 429 means the TPM was never exceeded. The calls must also really be paced: the span
 * from the first to the last call is at least what the rate allows for the tokens beyond the burst.
 */
@QuarkusTest
@TestProfile(TokenPacingEndToEndTest.TokensPerMinute.class)
@WithTestResource(KilnStackResource.class)
class TokenPacingEndToEndTest {

    private static final int TPM = 1_200_000;
    private static final int JOBS = 12;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Kiln paces by the same TPM as the simulator enforces, and by nothing else. */
    public static class TokensPerMinute implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kiln.rate.tpm", Integer.toString(TPM), "kiln.rate.ipm", "0", "kiln.rate.rpm", "0",
                    "kiln.rate.burst", "PT10S");
        }
    }

    private SimulatorSettings saved;

    @BeforeEach
    void limitTokens() {
        saved = KilnStackResource.simulator().settings();
        KilnStackResource.simulator().update(saved.withSetting("SIMULATOR_TPM", Integer.toString(TPM))
                .withSetting("SIMULATOR_BURST_SECONDS", "10")
                .withSetting("SIMULATOR_LATENCY_HIGH_MS", "200").withSetting("SIMULATOR_LATENCY_HIGH_JITTER_MS", "0"));
    }

    @AfterEach
    void restore() {
        KilnStackResource.simulator().update(saved);
    }

    @Test
    void uhdHighQualityJobsNeverPassTheTokensPerMinute() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        JsonNode before = get("/simulator/stats");
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < JOBS; i++) {
            items.append(i == 0 ? "" : ",").append("{\"id\":\"BANNER-").append(i).append("\",\"prompt\":\"tpm ")
                    .append(run).append(" hero banner ").append(i).append("\"}");
        }
        String body = "{\"cache\":false,\"defaults\":{\"size\":\"3840x2160\",\"quality\":\"high\",\"output_format\":\"jpeg\"},"
                + "\"items\":[" + items + "]}";
        String id = given().contentType(ContentType.JSON).header("Idempotency-Key", "tpm-" + run).body(body)
                .post("/v1/batches").then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                given().get("/v1/batches/" + id).then().statusCode(200).body("state", equalTo("succeeded")));
        JsonNode after = get("/simulator/stats");

        List<Instant> calls = new ArrayList<>();
        for (JsonNode request : get("/simulator/received")) {
            if (request.path("prompt").asText().startsWith("tpm " + run) && request.path("status").asInt() == 200) {
                calls.add(Instant.parse(request.path("received_at").asText()));
            }
        }
        calls.sort(null);
        long refused = after.path("rate_limited_count").asLong() - before.path("rate_limited_count").asLong();
        long perJob = ImageTokens.outputPerImage("high", new Dimensions(3840, 2160));
        double burst = TPM / 60.0 * 10;
        double span = Duration.between(calls.getFirst(), calls.getLast()).toMillis() / 1000.0;
        // What the rate allows beyond the burst, less one job for the bucket's start and end.
        double floor = (JOBS * perJob - burst - perJob) / (TPM / 60.0);
        System.out.printf("token pacing: %d calls of %d output tokens at %d TPM over %.1f s (at least %.1f s), %d answered 429 (%.2f %%)%n",
                calls.size(), perJob, TPM, span, floor, refused, 100.0 * refused / (calls.size() + refused));
        assertThat(calls).hasSize(JOBS);
        assertThat((double) refused / (calls.size() + refused)).as("share of calls answered 429").isLessThanOrEqualTo(0.005);
        assertThat(span).as("seconds from the first call to the last").isGreaterThanOrEqualTo(floor);
    }

    private static JsonNode get(String path) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(KilnStackResource.simulator().rootUrl() + path)).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(response.body());
    }
}
