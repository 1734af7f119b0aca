package dev.kiln.worker;

import dev.kiln.provider.ProviderAccess;
import dev.kiln.messaging.Topics;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a worker does when the provider refuses its API key (401 or 403), against the real broker,
 * S3 server and the simulator: it stops calling, fails no job, commits no offset, turns readiness
 * down and logs the cause once without the key. Each subclass runs in its own Quarkus application
 * (its own test profile), because a refused key stops the worker until it is restarted.
 */
abstract class ProviderRefusesTheKeyContract {

    private static final int JOBS = 3;

    /** Makes the simulator refuse {@link KilnStackResource#PROVIDER_API_KEY} the way under test. */
    abstract SimulatorSettings refuseTheKey(SimulatorSettings settings);

    /** The HTTP status the simulator answers with. */
    abstract int refusalStatus();

    @Test
    void theWorkerStopsWithoutFailingAJobOrCommittingAnOffset() throws Exception {
        SimulatorServer simulator = KilnStackResource.simulator();
        simulator.update(refuseTheKey(simulator.settings()));
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try {
            String batch = submit(JOBS);

            await().atMost(Duration.ofSeconds(30)).until(() -> refusals(simulator) >= 1
                    && given().get("/q/health/ready").statusCode() == 503);
            long refusedCalls = refusals(simulator);
            // Longer than the consumer's commit interval (5 s): a failed or acknowledged job would
            // have its offset committed by now.
            Thread.sleep(6000);

            assertThat(refusals(simulator)).as("no call after the refusal but those already in flight")
                    .isEqualTo(refusedCalls).isLessThanOrEqualTo(JOBS);
            JsonPath status = given().get("/v1/batches/" + batch).then().statusCode(200).extract().jsonPath();
            assertThat(status.getInt("counts.failed")).as("a bad key fails no job").isZero();
            assertThat(status.getInt("counts.succeeded")).isZero();
            for (int i = 0; i < JOBS; i++) {
                assertThat(given().get("/v1/jobs/" + batch + "-" + String.format("%06d", i)).then().extract()
                        .path("state").toString()).isIn("queued", "running");
            }
            assertThat(committedJobOffsets()).as("the jobs stay uncommitted, to be delivered again after a restart")
                    .isZero();

            String readiness = given().get("/q/health/ready").then().statusCode(503).extract().asString();
            assertThat(readiness).contains("provider-access").contains("HTTP " + refusalStatus());
            assertThat(readiness).doesNotContain(KilnStackResource.PROVIDER_API_KEY);

            List<String> causes = logged.stream().filter(r -> ProviderAccess.class.getName().equals(r.getLoggerName()))
                    .map(r -> String.valueOf(r.getMessage())).toList();
            assertThat(causes).as("the cause is logged once").hasSize(1);
            assertThat(causes.getFirst()).contains("HTTP " + refusalStatus());
            assertThat(logged).allSatisfy(r -> assertThat(String.valueOf(r.getMessage()))
                    .doesNotContain(KilnStackResource.PROVIDER_API_KEY));
        } finally {
            root.removeHandler(capture);
        }
    }

    private long refusals(SimulatorServer simulator) {
        return simulator.received().stream().filter(r -> r.status() == refusalStatus()).count();
    }

    private static String submit(int items) {
        String list = java.util.stream.IntStream.range(0, items)
                .mapToObj(i -> "{\"id\": \"SKU-" + i + "\", \"prompt\": \"a teapot, view " + i + "\"}")
                .collect(Collectors.joining(","));
        String body = "{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [" + list + "]}";
        return given().contentType(ContentType.JSON).body(body).post("/v1/batches").then().statusCode(202)
                .extract().path("id");
    }

    /** The sum of the workers' committed offsets on kiln.jobs; this application's stack is fresh. */
    private static long committedJobOffsets() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KilnStackResource.kafka().bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("kiln-workers")
                    .partitionsToOffsetAndMetadata().get();
            return committed.entrySet().stream()
                    .filter(e -> e.getKey().topic().equals(Topics.JOBS) && e.getValue() != null)
                    .mapToLong(e -> e.getValue().offset())
                    .sum();
        }
    }
}
