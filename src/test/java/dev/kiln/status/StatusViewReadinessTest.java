package dev.kiln.status;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.localstack.EmbeddedKafkaBroker;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The status view's readiness on a real broker: down before the view starts and while its store
 * restores {@code kiln.status} on an empty disk, up only once the view runs, and by then every
 * batch published before the start is readable. A process without the api role reports up.
 */
class StatusViewReadinessTest {

    /** Enough events that restoring them on an empty disk is not instant. */
    private static final int BATCHES = 4_000;
    private static final int JOBS_PER_BATCH = 4;

    private static EmbeddedKafkaBroker kafka;

    @BeforeAll
    static void startBrokerAndFillTheTopic(@TempDir Path dir) throws Exception {
        kafka = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(Topics.STATUS, 3, (short) 1))).all().get();
        }
        Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.LINGER_MS_CONFIG, 20);
        Instant t = Instant.parse("2026-11-30T04:00:00Z");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
            for (int b = 0; b < BATCHES; b++) {
                String batch = batchId(b);
                send(producer, EventTypes.BATCH_CREATED, batch,
                        new BatchCreated(batch, "default", null, JOBS_PER_BATCH, JOBS_PER_BATCH, "sha", null, t));
                for (int i = 0; i < JOBS_PER_BATCH; i++) {
                    send(producer, EventTypes.job(JobState.QUEUED), batch, new JobStatusChanged(
                            batch + "-00000" + i, batch, "default", "SKU-" + i, i, JobState.QUEUED, 1, null, null, null, t));
                }
            }
            producer.flush();
        }
    }

    @AfterAll
    static void stopBroker() throws Exception {
        kafka.close();
    }

    @Test
    void readyOnlyOnceTheViewHasRestoredEverything(@TempDir Path state) throws Exception {
        StatusViewStreams streams = new StatusViewStreams(config(state), kafka.bootstrapServers(), role("api"));
        StatusViewReadinessCheck check = new StatusViewReadinessCheck(streams);
        StatusView view = new StatusView(streams, config(state));

        HealthCheckResponse before = check.call();
        assertThat(before.getStatus()).as("not started").isEqualTo(HealthCheckResponse.Status.DOWN);
        assertThat(before.getData().orElseThrow()).containsEntry("state", "NOT_STARTED");

        // start() restores the store before it returns; readiness is polled from another thread
        // meanwhile, as the health endpoint is.
        List<String> seen = new CopyOnWriteArrayList<>();
        AtomicReference<HealthCheckResponse> last = new AtomicReference<>();
        long started = System.nanoTime();
        Thread poller = Thread.ofVirtual().start(() -> {
            while (System.nanoTime() - started < Duration.ofSeconds(90).toNanos()) {
                HealthCheckResponse polled = check.call();
                seen.add(polled.getStatus() + " " + polled.getData().orElseThrow().get("state"));
                last.set(polled);
                if (polled.getStatus() == HealthCheckResponse.Status.UP) {
                    return;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        streams.start(null);
        try {
            poller.join(Duration.ofSeconds(95));
            HealthCheckResponse answer = last.get();
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(seen).as("readiness while the store restores (Kafka Streams created or rebalancing)")
                    .anyMatch(s -> s.startsWith("DOWN") && !s.endsWith("NOT_STARTED"));
            assertThat(answer.getStatus()).as("ready within 90 s; seen " + seen.stream().distinct().toList())
                    .isEqualTo(HealthCheckResponse.Status.UP);
            assertThat(answer.getData().orElseThrow()).containsEntry("state", "RUNNING");
            // The moment readiness says UP, the whole topic is in the store: the first and the last batch.
            assertThat(view.batch(batchId(0))).as("first batch readable when ready").isPresent();
            assertThat(view.batch(batchId(BATCHES - 1))).as("last batch readable when ready").isPresent();
            assertThat(view.job(batchId(BATCHES - 1) + "-00000" + (JOBS_PER_BATCH - 1))).isPresent();
            System.out.printf("status view restored %d events on an empty disk in %d ms; readiness states %s%n",
                    BATCHES * (1 + JOBS_PER_BATCH), took.toMillis(), seen.stream().distinct().toList());
        } finally {
            streams.stop(null);
        }
        assertThat(check.call().getStatus()).as("stopped").isEqualTo(HealthCheckResponse.Status.DOWN);
    }

    @Test
    void aProcessWithoutTheApiRoleDoesNotWaitForTheView(@TempDir Path state) {
        StatusViewStreams streams = new StatusViewStreams(config(state), kafka.bootstrapServers(), role("worker"));
        streams.start(null);

        HealthCheckResponse answer = new StatusViewReadinessCheck(streams).call();

        assertThat(answer.getStatus()).isEqualTo(HealthCheckResponse.Status.UP);
        assertThat(answer.getData().orElseThrow()).containsEntry("state", "not run by this role");
    }

    private static String batchId(int b) {
        return "b_ready" + String.format("%05d", b);
    }

    private static void send(KafkaProducer<String, byte[]> producer, String type, String key, Object value) throws Exception {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.STATUS, key, KilnJson.MAPPER.writeValueAsBytes(value));
        record.headers().add("ce_type", type.getBytes(StandardCharsets.UTF_8));
        producer.send(record);
    }

    private static KilnConfig role(String role) {
        return new KilnConfig() {
            @Override
            public String role() {
                return role;
            }

            @Override
            public String defaultTenant() {
                return "default";
            }
        };
    }

    private static StatusViewConfig config(Path stateDir) {
        return new StatusViewConfig() {
            public String stateDir() { return stateDir.toString(); }
            public String applicationId() { return "kiln-status-view-readiness-test"; }
            public Duration visibilityTimeout() { return Duration.ofSeconds(1); }
            public int maxPageSize() { return 100; }
            public Duration sseHeartbeat() { return Duration.ofSeconds(15); }
            public int sseMaxStreams() { return 4; }
        };
    }
}
