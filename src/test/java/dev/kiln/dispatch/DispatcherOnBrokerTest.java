package dev.kiln.dispatch;

import dev.kiln.job.CancelRequested;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.localstack.EmbeddedKafkaBroker;
import dev.kiln.messaging.JsonSerde;
import dev.kiln.messaging.RenderJobRequestedDeserializer;
import dev.kiln.messaging.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The dispatcher's production settings on a real broker: exactly-once v2 releases that
 * read-committed consumers see, the window reopened by {@code running} events on
 * {@code kiln.status} ({@link StatusTail}), and a cancel.
 */
class DispatcherOnBrokerTest {

    @TempDir
    Path dir;

    @Test
    void releasesWithinTheWindowReopensItOnRunningEventsAndCancels() throws Exception {
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0)) {
            Map<String, Object> connection = Map.of("bootstrap.servers", broker.bootstrapServers());
            try (Admin admin = Admin.create(connection)) {
                admin.createTopics(List.of(new NewTopic(Topics.ITEMS, 1, (short) 1), new NewTopic(Topics.CONTROL, 1, (short) 1),
                        new NewTopic(Topics.JOBS, 3, (short) 1), new NewTopic(Topics.STATUS, 2, (short) 1))).all().get();
            }
            UnstartedJobs unstarted = new UnstartedJobs(Duration.ofMinutes(10).toMillis());
            ReleaseGate gate = new ReleaseGate(() -> 2, unstarted);
            StatusTail tail = new StatusTail(connection, unstarted);
            Thread tailThread = Thread.ofPlatform().daemon().start(tail);
            KafkaStreams streams = new KafkaStreams(
                    DispatchTopology.build(DispatchHarness.SETTINGS, TenantWeights.EQUAL, gate, new DispatchMetrics(new SimpleMeterRegistry())),
                    DispatcherStreams.properties(connection, "kiln-dispatcher", dir.resolve("state").toString(), 1, Duration.ofSeconds(10)));
            try (KafkaProducer<String, Object> producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", broker.bootstrapServers()),
                    new StringSerializer(), new JsonSerde.JsonSerializer());
                 KafkaConsumer<String, RenderJobRequested> jobs = consumer(broker, new RenderJobRequestedDeserializer());
                 KafkaConsumer<String, byte[]> status = consumer(broker, new ByteArrayDeserializer())) {
                streams.start();
                await().atMost(Duration.ofSeconds(60)).until(() -> streams.state() == KafkaStreams.State.RUNNING);
                jobs.subscribe(List.of(Topics.JOBS));
                status.subscribe(List.of(Topics.STATUS));

                List<RenderJobRequested> chunk = IntStream.range(0, 5).mapToObj(i -> DispatchHarness.job("b_real", "acme", i, 1)).toList();
                producer.send(new ProducerRecord<>(Topics.ITEMS, "b_real", new JobsStaged("b_real", "acme", Priority.NORMAL, null, chunk))).get();

                List<ConsumerRecord<String, RenderJobRequested>> released = poll(jobs, 2, Duration.ofSeconds(30));
                // Released in order, placed on the partitions in turn (EvenJobPlacement): a consumer of
                // several partitions may read them in either order.
                assertThat(released).extracting(ConsumerRecord::key).containsExactlyInAnyOrder("b_real-000000", "b_real-000001");
                assertThat(poll(jobs, 1, Duration.ofSeconds(2))).as("the window of 2 is full").isEmpty();

                for (ConsumerRecord<String, RenderJobRequested> job : released) {
                    ProducerRecord<String, Object> running = new ProducerRecord<>(Topics.STATUS, "b_real", Map.of("job_id", job.key()));
                    CloudEventHeaders.of("e-" + job.key(), "kiln.job.running", job.key(), Instant.now()).forEach(running.headers()::add);
                    producer.send(running).get();
                }
                assertThat(poll(jobs, 2, Duration.ofSeconds(30))).extracting(ConsumerRecord::key)
                        .containsExactlyInAnyOrder("b_real-000002", "b_real-000003");

                producer.send(new ProducerRecord<>(Topics.CONTROL, "b_real", CancelRequested.batch("b_real", "acme", Instant.now()))).get();
                await().atMost(Duration.ofSeconds(30)).until(() -> {
                    for (ConsumerRecord<String, byte[]> record : status.poll(Duration.ofMillis(200))) {
                        if ("kiln.job.cancelled".equals(CloudEventHeaders.get(record.headers(), CloudEventHeaders.TYPE))) {
                            return "b_real-000004".equals(CloudEventHeaders.get(record.headers(), CloudEventHeaders.SUBJECT));
                        }
                    }
                    return false;
                });
            } finally {
                streams.close(Duration.ofSeconds(10));
                tail.stop();
                tailThread.join(5_000);
            }
        }
    }

    private static <V> KafkaConsumer<String, V> consumer(EmbeddedKafkaBroker broker, org.apache.kafka.common.serialization.Deserializer<V> values) {
        return new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "test-" + System.nanoTime(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new StringDeserializer(), values);
    }

    private static <V> List<ConsumerRecord<String, V>> poll(KafkaConsumer<String, V> consumer, int wanted, Duration within) {
        List<ConsumerRecord<String, V>> out = new ArrayList<>();
        long end = System.nanoTime() + within.toNanos();
        while (out.size() < wanted && System.nanoTime() < end) {
            consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        }
        return out;
    }
}
