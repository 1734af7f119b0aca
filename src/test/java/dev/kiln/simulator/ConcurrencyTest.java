package dev.kiln.simulator;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The simulator must never be what limits a load test: every slow request is in flight at once. */
class ConcurrencyTest {

    private static final int REQUESTS = 300;

    private static SimulatorServer server;

    @BeforeAll
    static void start() {
        server = SimulatorServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void oneSecondLatency() {
        server.update(SimulatorSettings.defaults().toBuilder().latency(new Latency(1000, 0)).build());
    }

    @Test
    void hundredsOfOneSecondRendersFinishInAboutOneSecond() throws Exception {
        assertAllInFlightAtOnce(REQUESTS, 1000, 10_000);
    }

    @Test
    void theTimeScalePlaysSixHundredOneMinuteRendersInOneSecondAndAHalf() throws Exception {
        // 60 s at a scale of 0.025 is 1.5 s; the rate limits stay unscaled and unlimited here
        server.update(SimulatorSettings.defaults().toBuilder().latency(new Latency(60_000, 0)).timeScale(0.025).build());
        assertAllInFlightAtOnce(600, 1500, 10_000);
    }

    @Test
    void theTimeScaleShortensHangs() {
        server.update(SimulatorSettings.defaults().toBuilder().hangMillis(20_000).timeScale(0.005).build());
        long start = System.nanoTime();
        HttpResponse<byte[]> answer = new ImagesApiClient(server.baseUrl()).generate(
                java.util.Map.of("model", "gpt-image-2", "prompt", "x"), Fault.HEADER, "hang");
        assertThat(answer.statusCode()).isEqualTo(500);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(100L, 5000L);
    }

    private static void assertAllInFlightAtOnce(int requests, long minMillis, long maxMillis) throws Exception {
        // warm the JIT and the client classes so that the measured round is about waiting, not class
        // loading; then a fresh client, so that no request of the round is sent on the warm-up's
        // pooled connection, which the server may close as idle while it is being reused
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(request("warm-up"), HttpResponse.BodyHandlers.discarding());
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        AtomicInteger peak = new AtomicInteger();
        Thread sampler = Thread.ofVirtual().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(server.inProgress().size(), Math::max);
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long start = System.nanoTime();
        List<CompletableFuture<HttpResponse<Void>>> answers = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            answers.add(http.sendAsync(request("a teapot " + i), HttpResponse.BodyHandlers.discarding()));
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        sampler.interrupt();

        assertThat(answers).allSatisfy(answer -> assertThat(answer.join().statusCode()).isEqualTo(200));
        assertThat(peak.get()).as("renders in progress at once").isEqualTo(requests);
        // serialized they would take minutes; the peak above is the real proof, the bound is loose
        // because the build machine is shared
        assertThat(elapsedMillis).as("elapsed ms").isBetween(minMillis, maxMillis);
    }

    private static HttpRequest request(String prompt) {
        return HttpRequest.newBuilder(URI.create(server.baseUrl() + "/images/generations"))
                .header("Authorization", "Bearer sk-test")
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-image-2\",\"prompt\":\"" + prompt
                        + "\",\"size\":\"1024x640\",\"quality\":\"low\",\"output_format\":\"webp\"}"))
                .build();
    }
}
