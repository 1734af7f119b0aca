package dev.kiln.e2e;

import dev.kiln.job.BatchCreated;
import dev.kiln.job.EventTypes;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobIds;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RetryRequested;
import dev.kiln.messaging.ControlPublisher;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import dev.kiln.messaging.TransactionalPublisher;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * A client's retry of a failed job, end to end on the real broker, S3 server and simulator: an
 * item refused by moderation ends {@code failed}; once the provider lets its prompt through, a
 * retry (of the job, or of its batch) renders it again, exactly once more, at a later attempt,
 * and the batch ends {@code succeeded}. And the crash window of a worker's own retry: a delivery
 * of an attempt that was already handed back to the dispatcher is not rendered a second time.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class JobRetryEndToEndTest {

    /** Generous for two low-quality images and one retry on a loaded machine. */
    private static final Duration BATCH = Duration.ofSeconds(60);
    /** The workers' consumer group on kiln.jobs. */
    private static final String WORKERS_GROUP = "kiln-workers";

    @Inject
    TransactionalPublisher transactions;

    @Inject
    ControlPublisher control;

    private SimulatorSettings saved;
    private String run;

    @BeforeEach
    void saveSimulator() {
        saved = KilnStackResource.simulator().settings();
        run = UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void restoreSimulator() {
        KilnStackResource.simulator().update(saved);
    }

    @Test
    void aRetriedFailedJobRendersOnceMore() {
        String batch = submitWithOneRefusedItem();
        String job = JobIds.jobId(batch, 0);

        allowTheRefusedPrompt();
        given().post("/v1/jobs/" + job + "/retry").then().statusCode(202).body("jobs", equalTo(1));

        assertRenderedOnceMore(batch, job);
    }

    @Test
    void aBatchRetryRendersItsFailedJobOnceMore() {
        String batch = submitWithOneRefusedItem();
        String job = JobIds.jobId(batch, 0);

        allowTheRefusedPrompt();
        given().post("/v1/batches/" + batch + "/retry").then().statusCode(202).body("jobs", equalTo(1));

        assertRenderedOnceMore(batch, job);
    }

    /**
     * A worker failed attempt 1, handed attempt 2 back to the dispatcher (RetryRequested on
     * kiln.control) and died before its ack, so Kafka delivers attempt 1 again while the
     * dispatcher releases attempt 2. The test writes both records as that worker and Kafka would.
     * With two workers both attempts would render and be paid; here one worker would still take
     * the stale delivery (rendering it, or announcing attempt 2's stored image as its own), so
     * the test asserts what tells the two apart: nothing at all is announced for attempt 1.
     */
    @Test
    void aDeliveryOfAnAttemptAlreadyHandedBackIsNotRenderedAgain() throws Exception {
        Instant start = Instant.now();
        String batch = JobIds.newBatchId();
        String prompt = prompt("A mug handed back");
        ImageParameters low = new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, null, null);
        RenderJobRequested first = new RenderJobRequested(JobIds.jobId(batch, 0), batch, "default", "HANDED-BACK", 0,
                prompt, low, List.of(), null, Map.of(), 1, start);
        transactions.inTransaction(tx -> tx.send(Topics.STATUS, batch,
                new BatchCreated(batch, "default", null, 1, 1, "x", null, start), EventTypes.BATCH_CREATED, batch));
        control.send(List.of(RetryRequested.afterFailure(first.nextAttempt(), start, start)));
        RecordMetadata stale = deliverAgain(first);

        await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() -> "succeeded".equals(state(batch)));
        given().get("/v1/jobs/" + first.jobId()).then().statusCode(200)
                .body("state", equalTo("succeeded")).body("attempt", equalTo(2));
        // The worker announces whatever it does with a delivery before it acks it, so once the
        // workers' group has committed past the stale record, its announcements would be on kiln.status.
        await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() -> committedOffset(stale) > stale.offset());
        assertThat(attemptsAnnounced(batch, start)).as("attempts the worker announced for the job")
                .contains(2).doesNotContain(1);
        assertThat(KilnStackResource.simulator().received().stream().filter(r -> prompt.equals(r.prompt())))
                .as("provider calls for the job").hasSize(1);
    }

    /** Writes {@code job} on kiln.jobs as the record a worker that died before its ack leaves behind. */
    private static RecordMetadata deliverAgain(RenderJobRequested job) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.bootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.JOBS, job.jobId(), KilnJson.MAPPER.writeValueAsBytes(job));
            record.headers().add("ce_type", EventTypes.JOB_REQUESTED.getBytes(StandardCharsets.UTF_8));
            return producer.send(record).get(30, TimeUnit.SECONDS);
        }
    }

    /** The workers' committed offset on the partition of {@code record}, or -1. */
    private static long committedOffset(RecordMetadata record) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.bootstrapServers()))) {
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(WORKERS_GROUP).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS).get(new TopicPartition(record.topic(), record.partition()));
            return committed == null ? -1 : committed.offset();
        }
    }

    /** The attempt of every job event of {@code batch} on kiln.status since {@code since}. */
    private static List<Integer> attemptsAnnounced(String batch, Instant since) throws Exception {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.bootstrapServers());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<Integer> attempts = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.STATUS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            long from = since.minusSeconds(5).toEpochMilli();
            Map<TopicPartition, OffsetAndTimestamp> offsets = consumer.offsetsForTimes(
                    partitions.stream().collect(Collectors.toMap(p -> p, p -> from)));
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            partitions.forEach(p -> consumer.seek(p, offsets.get(p) == null ? end.get(p) : offsets.get(p).offset()));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Header type = record.headers().lastHeader("ce_type");
                    if (batch.equals(record.key()) && type != null
                            && new String(type.value(), StandardCharsets.UTF_8).startsWith(EventTypes.JOB_PREFIX)) {
                        attempts.add(KilnJson.MAPPER.readTree(record.value()).path("attempt").asInt());
                    }
                }
            }
        }
        return attempts;
    }

    /** Two items, the first refused by the simulator's moderation: the batch ends partially failed. */
    private String submitWithOneRefusedItem() {
        String body = """
                {"defaults":{"size":"1024x1024","quality":"low"},"items":[
                 {"id":"REFUSED","prompt":"%1$s"},
                 {"id":"FINE","prompt":"%2$s"}]}""".formatted(prompt("A " + saved.moderationMarker() + " mug"), prompt("A green mug"));
        String batch = given().contentType(ContentType.JSON).body(body).post("/v1/batches")
                .then().statusCode(202).extract().path("id");
        await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() -> "partially_failed".equals(state(batch)));
        given().get("/v1/jobs/" + JobIds.jobId(batch, 0)).then().statusCode(200)
                .body("state", equalTo("failed")).body("attempt", equalTo(1)).body("error.code", equalTo("moderation_blocked"));
        assertThat(callsFor(0)).as("the refused item's calls before the retry").hasSize(1);
        return batch;
    }

    /** The provider now lets the prompt through, so the retried item can succeed. */
    private void allowTheRefusedPrompt() {
        KilnStackResource.simulator().update(saved.withSetting("SIMULATOR_MODERATION_MARKER", "NEVER-" + UUID.randomUUID()));
    }

    private void assertRenderedOnceMore(String batch, String job) {
        await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() -> "succeeded".equals(state(batch)));
        JsonPath retried = given().get("/v1/jobs/" + job).then().statusCode(200).extract().jsonPath();
        assertThat(retried.getString("state")).isEqualTo("succeeded");
        assertThat(retried.getInt("attempt")).isGreaterThanOrEqualTo(2);
        List<ReceivedRequest> calls = callsFor(0);
        assertThat(calls).as("the refused item's calls").hasSize(2);
        assertThat(calls.get(1).accepted()).isTrue();
        assertThat(callsFor(1)).as("the fine item is not rendered again").hasSize(1);
        given().post("/v1/jobs/" + job + "/retry").then().statusCode(409);
        given().post("/v1/batches/" + batch + "/retry").then().statusCode(409);
    }

    private String prompt(String text) {
        return "job retry e2e " + run + ": " + text;
    }

    private List<ReceivedRequest> callsFor(int item) {
        String prompt = item == 0 ? prompt("A " + saved.moderationMarker() + " mug") : prompt("A green mug");
        return KilnStackResource.simulator().received().stream().filter(r -> prompt.equals(r.prompt())).toList();
    }

    private static String state(String batchId) {
        return given().get("/v1/batches/" + batchId).then().extract().path("state");
    }
}
