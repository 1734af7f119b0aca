package dev.kiln.batch;

import dev.kiln.messaging.TransactionalPublisher;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

/**
 * A batch is accepted whole or not at all, on the real broker: a transaction that fails half-way
 * (its producer fenced by a second one with the same transactional.id after every record was
 * sent, before the commit) leaves nothing visible to read_committed consumers and answers 503;
 * the same request with the same Idempotency-Key then succeeds, in chunks of at most 500 jobs.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class AllOrNothingIntakeTest {

    private static final int ITEMS = 1_200;

    @Inject
    TransactionalPublisher transactions;

    @AfterEach
    void noHook() {
        transactions.beforeCommit(null);
    }

    @Test
    void aTransactionFencedHalfWayLeavesNothingVisibleAndTheRetrySucceeds() {
        String key = "aon-" + UUID.randomUUID();
        String body = catalogue();
        AtomicInteger fenced = new AtomicInteger();
        transactions.beforeCommit(transactionalId -> {
            if (fenced.getAndIncrement() == 0) {
                fence(transactionalId);
            }
        });

        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/v1/batches")
                .then().statusCode(503)
                .header("Retry-After", notNullValue())
                .body("type", org.hamcrest.Matchers.containsString("not-accepted"));
        assertThat(fenced.get()).isEqualTo(1);
        String batchId = dev.kiln.job.JobIds.batchIdFor("default", key);

        // Every record was written before the fence, yet none is visible to a read_committed reader.
        assertThat(keyed(batchId, "kiln.items", "read_uncommitted")).as("the chunks reached the broker").hasSize(3);
        assertThat(keyed(batchId, "kiln.items", "read_committed")).isEmpty();
        assertThat(keyed(batchId, "kiln.status", "read_committed")).isEmpty();
        given().get("/v1/batches/" + batchId).then().statusCode(404);

        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/v1/batches")
                .then().statusCode(202)
                .body("id", equalTo(batchId))
                .body("items", equalTo(ITEMS));
        List<ConsumerRecord<String, String>> chunks = keyed(batchId, "kiln.items", "read_committed");
        assertThat(chunks).hasSize(3);
        assertThat(chunks.stream().map(r -> header(r, "ce_type")).distinct()).containsExactly("kiln.batch.items_staged");
        Map<String, Long> statusTypes = keyed(batchId, "kiln.status", "read_committed").stream()
                .collect(Collectors.groupingBy(r -> header(r, "ce_type"), Collectors.counting()));
        assertThat(statusTypes).containsEntry("kiln.batch.created", 1L);
        assertThat(statusTypes.get("kiln.job.queued")).isGreaterThanOrEqualTo(ITEMS);

        // Cancel, so that the test does not render 1,200 images; a second cancel is a no-op.
        given().post("/v1/batches/" + batchId + "/cancel").then().statusCode(202);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().statusCode(200).body("state", equalTo("cancelled")));
        given().post("/v1/batches/" + batchId + "/cancel").then().statusCode(202).body("no_op", equalTo(true));
        given().post("/v1/batches/" + batchId + "/retry").then().statusCode(409);
        given().post("/v1/batches/b_doesnotexist/cancel").then().statusCode(404);
    }

    /** A second producer with the same transactional.id: its initTransactions fences the first and aborts its transaction. */
    private static void fence(String transactionalId) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        try (KafkaProducer<String, String> intruder = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            intruder.initTransactions();
        }
    }

    /** Every record of {@code topic} keyed {@code key}, read from the start to the end at {@code isolation}. */
    static List<ConsumerRecord<String, String>> keyed(String key, String topic, String isolation) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.currentTimeMillis() + 20_000;
            while (System.currentTimeMillis() < deadline
                    && partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    if (key.equals(record.key())) {
                        found.add(record);
                    }
                }
            }
        }
        return found;
    }

    /** How many records {@code topic} holds in all, committed or not (its end offsets added up). */
    static long endOffsets(String topic) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            return consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    static String header(ConsumerRecord<String, String> record, String name) {
        var header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static String catalogue() {
        String items = IntStream.range(0, ITEMS)
                .mapToObj(i -> "{\"id\":\"AON-" + i + "\",\"prompt\":\"all or nothing " + i + "\"}")
                .collect(Collectors.joining(","));
        return "{\"defaults\":{\"quality\":\"low\",\"size\":\"1024x1024\"},\"priority\":\"bulk\",\"items\":[" + items + "]}";
    }
}
