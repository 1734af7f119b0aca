package dev.kiln.status;

import dev.kiln.config.KilnConfig;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.BatchState;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import dev.kiln.job.Usage;
import dev.kiln.localstack.EmbeddedKafkaBroker;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
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
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The status view on a real broker: it is the fold of {@code kiln.status}, survives a restart
 * with its local store (only newer events are replayed, none twice), and a replica with an empty
 * disk rebuilds the same view from the topic alone.
 */
class StatusViewRestartTest {

    private static EmbeddedKafkaBroker kafka;

    @BeforeAll
    static void startBroker(@TempDir Path dir) throws Exception {
        kafka = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(Topics.STATUS, 3, (short) 1))).all().get();
        }
    }

    @AfterAll
    static void stopBroker() throws Exception {
        kafka.close();
    }

    @Test
    void theViewSurvivesARestartAndAFreshReplicaRebuildsIt(@TempDir Path stateA, @TempDir Path stateB) {
        String batch = "b_restart";
        Instant t = Instant.parse("2026-11-21T10:00:00Z");
        publish(EventTypes.BATCH_CREATED, batch, new BatchCreated(batch, "default", null, 3, 3, "sha", null, t));
        for (int i = 0; i < 3; i++) {
            publish(EventTypes.job(JobState.QUEUED), batch, job(batch, i, JobState.QUEUED, null));
            publish(EventTypes.job(JobState.RUNNING), batch, job(batch, i, JobState.RUNNING, null));
        }
        publish(EventTypes.job(JobState.SUCCEEDED), batch, job(batch, 0, JobState.SUCCEEDED, new Usage(1, 10, 0, 100, 0.5)));

        StatusViewStreams first = streams(stateA);
        StatusView view = new StatusView(first, config(stateA));
        await().atMost(Duration.ofSeconds(30)).until(() -> counts(view, batch).map(c -> c.get(JobState.SUCCEEDED)).orElse(0) == 1);
        assertThat(counts(view, batch).orElseThrow()).containsEntry(JobState.RUNNING, 2).containsEntry(JobState.QUEUED, 0);
        first.stop(null);

        // While the api process is down, the workers go on.
        publish(EventTypes.job(JobState.SUCCEEDED), batch, job(batch, 1, JobState.SUCCEEDED, new Usage(1, 10, 0, 100, 0.5)));
        publish(EventTypes.job(JobState.FAILED), batch, job(batch, 2, JobState.FAILED, null));

        StatusViewStreams restarted = streams(stateA);
        StatusViewStreams freshReplica = streams(stateB);
        try {
            for (StatusViewStreams streams : List.of(restarted, freshReplica)) {
                StatusView v = new StatusView(streams, config(stateA));
                await().atMost(Duration.ofSeconds(30)).until(() -> v.batch(batch).map(BatchView::state)
                        .filter(BatchState.PARTIALLY_FAILED::equals).isPresent());
                BatchView result = v.batch(batch).orElseThrow();
                assertThat(result.counts()).containsEntry(JobState.SUCCEEDED, 2).containsEntry(JobState.FAILED, 1)
                        .containsEntry(JobState.RUNNING, 0).containsEntry(JobState.QUEUED, 0);
                assertThat(result.usage().images()).as("usage counted once per job").isEqualTo(2);
                assertThat(result.usage().costUsd()).isEqualTo(1.0);
                assertThat(v.job(batch + "-000002")).map(JobView::state).contains(JobState.FAILED);
            }
        } finally {
            restarted.stop(null);
            freshReplica.stop(null);
        }
    }

    private static Optional<Map<JobState, Integer>> counts(StatusView view, String batch) {
        try {
            return view.batch(batch).map(BatchView::counts);
        } catch (RuntimeException starting) {
            return Optional.empty();
        }
    }

    private static JobStatusChanged job(String batch, int index, JobState state, Usage usage) {
        return new JobStatusChanged(batch + "-00000" + index, batch, "default", "SKU-" + index, index, state, 1,
                null, null, usage, Instant.now());
    }

    private static void publish(String type, String key, Object value) {
        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.STATUS, key, KilnJson.MAPPER.writeValueAsBytes(value));
            record.headers().add("ce_type", type.getBytes(StandardCharsets.UTF_8));
            producer.send(record).get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static StatusViewConfig config(Path stateDir) {
        return new StatusViewConfig() {
            @Override
            public String stateDir() {
                return stateDir.toString();
            }

            @Override
            public String applicationId() {
                return "kiln-status-view-test";
            }

            @Override
            public Duration visibilityTimeout() {
                return Duration.ofSeconds(1);
            }

            @Override
            public int maxPageSize() {
                return 100;
            }

            @Override
            public Duration sseHeartbeat() {
                return Duration.ofSeconds(15);
            }

            @Override
            public int sseMaxStreams() {
                return 4;
            }
        };
    }

    private static StatusViewStreams streams(Path stateDir) {
        StatusViewConfig config = config(stateDir);
        KilnConfig kiln = new KilnConfig() {
            @Override
            public String role() {
                return "api";
            }

            @Override
            public String defaultTenant() {
                return "default";
            }
        };
        StatusViewStreams streams = new StatusViewStreams(config, kafka.bootstrapServers(), kiln);
        streams.start(null);
        return streams;
    }
}
