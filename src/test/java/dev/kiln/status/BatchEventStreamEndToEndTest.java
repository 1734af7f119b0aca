package dev.kiln.status;

import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code GET /v1/batches/{id}/events} over a 200-item batch on the real stack (broker, S3 server,
 * simulator over HTTP): a client connects while the batch runs, drops the connection half-way,
 * reconnects with {@code Last-Event-ID}, and the two connections together carry exactly the
 * batch's records on {@code kiln.status}, read independently with a Kafka consumer: every state
 * change, in order, none twice, none missing, ending with {@code kiln.batch.completed}.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class BatchEventStreamEndToEndTest {

    private static final int ITEMS = 200;
    private static final Set<String> FINAL = Set.of("kiln.job.succeeded", "kiln.job.failed", "kiln.job.cancelled",
            "kiln.job.expired");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private SimulatorSettings saved;

    record SseEvent(String id, String type, String data) {
    }

    @AfterEach
    void restoreSimulator() {
        if (saved != null) {
            KilnStackResource.simulator().update(saved);
        }
    }

    @Test
    void twoHundredItemsStreamEveryStateChangeInOrderAcrossALastEventIdReconnect() throws Exception {
        // Slow enough that the client watches the batch run, rather than replaying a finished one.
        saved = KilnStackResource.simulator().settings();
        KilnStackResource.simulator().update(saved.withSetting("SIMULATOR_LATENCY_LOW_MS", "300"));
        String batchId = submit();

        List<SseEvent> first = new ArrayList<>();
        read(batchId, null, first, events -> finals(events) >= ITEMS / 2);
        assertThat(first.getFirst().type()).isEqualTo("kiln.batch.created");
        assertThat(first.getLast().type()).as("dropped half-way, before the end").isNotEqualTo("kiln.batch.completed");
        String lastId = first.getLast().id();

        List<SseEvent> second = new ArrayList<>();
        read(batchId, lastId, second, events -> false);
        assertThat(second).isNotEmpty();
        assertThat(Long.parseLong(second.getFirst().id())).isGreaterThan(Long.parseLong(lastId));
        assertThat(second.getLast().type()).as("the stream ends with the batch's final event").isEqualTo("kiln.batch.completed");

        List<SseEvent> streamed = new ArrayList<>(first);
        streamed.addAll(second);
        // The independent truth: the batch's records on its kiln.status partition, read committed.
        List<String> onTopic = topicEvents(batchId);
        assertThat(streamed.stream().map(e -> e.id() + " " + e.type()).toList())
                .as("every state change on kiln.status, in order, none twice, none missing").isEqualTo(onTopic);

        // Per job, the order of its states: queued first, its final state last, the final one succeeded.
        Map<String, List<String>> perJob = new LinkedHashMap<>();
        for (SseEvent event : streamed) {
            if (event.type().startsWith("kiln.job.")) {
                JsonPath data = new JsonPath(event.data());
                assertThat(data.getString("batch_id")).isEqualTo(batchId);
                perJob.computeIfAbsent(data.getString("job_id"), j -> new ArrayList<>()).add(event.type());
            }
        }
        assertThat(perJob).hasSize(ITEMS);
        perJob.forEach((job, types) -> {
            assertThat(types.getFirst()).as(job).isEqualTo("kiln.job.queued");
            assertThat(types.getLast()).as(job).isEqualTo("kiln.job.succeeded");
            assertThat(types).as(job).contains("kiln.job.running");
            assertThat(types.indexOf("kiln.job.running")).as(job).isLessThan(types.indexOf("kiln.job.succeeded"));
        });
        JsonPath completed = new JsonPath(streamed.getLast().data());
        assertThat(completed.getInt("counts.succeeded")).isEqualTo(ITEMS);
        assertThat(completed.getString("state")).isEqualTo("succeeded");

        // Resuming after the final event: nothing more, and the stream ends at once.
        List<SseEvent> after = new ArrayList<>();
        read(batchId, streamed.getLast().id(), after, events -> false);
        assertThat(after).isEmpty();
    }

    /**
     * A batch that ended {@code failed}, reopened by a retry: a client resuming after the first
     * {@code kiln.batch.completed} while the batch runs again, and a client reading from the
     * start, both go on to the second completion and end there, not at the first.
     */
    @Test
    void aStreamOfABatchReopenedByARetryEndsAtItsNewCompletion() throws Exception {
        saved = KilnStackResource.simulator().settings();
        String run = UUID.randomUUID().toString();
        String body = "{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [{\"id\": \"SKU-R\","
                + " \"prompt\": \"Reopened %s: a %s jug\"}]}".formatted(run, saved.moderationMarker());
        String batchId = given().contentType(ContentType.JSON).body(body).post("/v1/batches")
                .then().statusCode(202).extract().path("id");

        List<SseEvent> first = readToEnd(batchId, null);
        assertThat(first.getLast().type()).isEqualTo("kiln.batch.completed");
        assertThat(new JsonPath(first.getLast().data()).getString("state")).isEqualTo("failed");
        String firstCompletion = first.getLast().id();

        // The provider lets the prompt through now, slowly enough that the streams below open
        // while the retried job is still running.
        KilnStackResource.simulator().update(saved.withSetting("SIMULATOR_MODERATION_MARKER", "NEVER-" + run)
                .withSetting("SIMULATOR_LATENCY_LOW_MS", "3000"));
        given().post("/v1/batches/" + batchId + "/retry").then().statusCode(202);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> !"failed".equals(given().get("/v1/batches/" + batchId).then().extract().path("state")));

        List<SseEvent> resumed = readToEnd(batchId, firstCompletion);
        assertThat(resumed).as("events after the first completion").isNotEmpty();
        assertThat(Long.parseLong(resumed.getFirst().id())).isGreaterThan(Long.parseLong(firstCompletion));
        assertThat(resumed.stream().map(SseEvent::type)).contains("kiln.job.queued", "kiln.job.succeeded");
        SseEvent second = resumed.getLast();
        assertThat(second.type()).as("the stream ends with the new completion").isEqualTo("kiln.batch.completed");
        assertThat(new JsonPath(second.data()).getString("state")).isEqualTo("succeeded");
        assertThat(new JsonPath(second.data()).getInt("completion")).isEqualTo(2);

        List<SseEvent> replayed = readToEnd(batchId, null);
        assertThat(replayed.stream().filter(e -> e.type().equals("kiln.batch.completed")).map(SseEvent::id))
                .as("both completions, the stream ending after the second").containsExactly(firstCompletion, second.id());
        assertThat(replayed.getLast().id()).isEqualTo(second.id());

        assertThat(readToEnd(batchId, second.id())).as("nothing after the final event").isEmpty();
    }

    /** The whole stream from {@code lastEventId}, which must end by itself within a minute and a half. */
    private List<SseEvent> readToEnd(String batchId, String lastEventId) {
        List<SseEvent> events = new ArrayList<>();
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(90),
                () -> read(batchId, lastEventId, events, e -> false), "the event stream did not end");
        return events;
    }

    private static String submit() {
        StringBuilder items = new StringBuilder();
        String run = UUID.randomUUID().toString();
        for (int i = 0; i < ITEMS; i++) {
            items.append(i == 0 ? "" : ",").append("{\"id\": \"SKU-%03d\", \"prompt\": \"Catalogue %s: stoneware mug %d\"}"
                    .formatted(i, run, i));
        }
        return given().contentType(ContentType.JSON)
                .body("{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [" + items + "]}")
                .post("/v1/batches").then().statusCode(202).extract().path("id");
    }

    /** The batch's records on kiln.status as {@code "offset type"}, up to its completion. */
    private static List<String> topicEvents(String batchId) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<String> events = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            int partitions = consumer.partitionsFor("kiln.status").size();
            TopicPartition partition = new TopicPartition("kiln.status",
                    Utils.toPositive(Utils.murmur2(batchId.getBytes(StandardCharsets.UTF_8))) % partitions);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    Header type = record.headers().lastHeader("ce_type");
                    if (!batchId.equals(record.key()) || type == null || record.value() == null) {
                        continue;
                    }
                    String name = new String(type.value(), StandardCharsets.UTF_8);
                    events.add(record.offset() + " " + name);
                    if (name.equals("kiln.batch.completed")) {
                        return events;
                    }
                }
            }
        }
        throw new AssertionError("no kiln.batch.completed for " + batchId + " on kiln.status; read " + events.size());
    }

    /** Reads events until the stream ends or {@code stop} holds for what was read. */
    private void read(String batch, String lastEventId, List<SseEvent> into, Predicate<List<SseEvent>> stop) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(
                        URI.create(RestAssured.baseURI + ":" + RestAssured.port + "/v1/batches/" + batch + "/events"))
                .header("Accept", "text/event-stream").timeout(Duration.ofSeconds(120));
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<Stream<String>> response = http.send(request.build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        try (Stream<String> lines = response.body()) {
            Iterator<String> it = lines.iterator();
            String id = null;
            String type = null;
            StringBuilder data = new StringBuilder();
            while (it.hasNext()) {
                String line = it.next();
                if (line.isEmpty()) {
                    if (type != null) {
                        into.add(new SseEvent(id, type, data.toString()));
                        if (stop.test(into)) {
                            return;
                        }
                    }
                    id = null;
                    type = null;
                    data.setLength(0);
                } else if (line.startsWith("id:")) {
                    id = line.substring(3).trim();
                } else if (line.startsWith("event:")) {
                    type = line.substring(6).trim();
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5).trim());
                }
            }
        }
    }

    private static long finals(List<SseEvent> events) {
        return events.stream().filter(e -> FINAL.contains(e.type())).count();
    }
}
