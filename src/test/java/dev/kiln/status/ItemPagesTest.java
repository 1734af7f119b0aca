package dev.kiln.status;

import dev.kiln.job.BatchCreated;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobIds;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Pages of {@code GET /v1/batches/{id}/items} walked with their cursors list every job of the
 * batch once, in order, also where the view has gaps (a job not yet folded) and at the batch's
 * last index: the page read by index ({@link StatusView#storedItems}) hands over to a range scan
 * there. The same with a state filter, which always scans.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class ItemPagesTest {

    private static final int ITEMS = 12;
    /** Indexes with no job in the view: a gap, and the batch's last index. */
    private static final List<Integer> MISSING = List.of(3, 11);

    @Test
    void cursorsWalkEveryJobOnceInOrderAcrossGaps() throws Exception {
        String batch = "b_itempages" + Long.toString(System.nanoTime(), 36);
        stage(batch);
        List<String> present = IntStream.range(0, ITEMS).filter(i -> !MISSING.contains(i)).mapToObj(i -> "SKU-" + i).toList();
        List<String> succeeded = IntStream.range(0, ITEMS).filter(i -> !MISSING.contains(i) && i % 2 == 0)
                .mapToObj(i -> "SKU-" + i).toList();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonPath view = given().get("/v1/batches/" + batch).then().extract().jsonPath();
            return view.getString("counts") != null && view.getInt("counts.succeeded") == succeeded.size();
        });

        for (int limit : new int[]{1, 2, 3, 100}) {
            assertThat(walk(batch, "limit=" + limit)).as("limit " + limit).containsExactlyElementsOf(present);
            assertThat(walk(batch, "state=succeeded&limit=" + limit)).as("succeeded, limit " + limit)
                    .containsExactlyElementsOf(succeeded);
        }
        JsonPath all = given().get("/v1/batches/" + batch + "/items?limit=10").then().statusCode(200).extract().jsonPath();
        assertThat(all.getList("items.item_id")).containsExactlyElementsOf(present);
        assertThat(all.getString("next_cursor")).as("ten jobs fill a page of ten and none is left").isNull();
    }

    /** The item ids of every page, following {@code next_cursor} to the end. */
    private static List<String> walk(String batch, String query) {
        List<String> ids = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonPath page = given().get("/v1/batches/" + batch + "/items?" + query + (cursor == null ? "" : "&cursor=" + cursor))
                    .then().statusCode(200).extract().jsonPath();
            ids.addAll(page.getList("items.item_id"));
            cursor = page.getString("next_cursor");
            assertThat(++pages).as("pages of " + query).isLessThanOrEqualTo(ITEMS + 1);
        } while (cursor != null);
        return ids;
    }

    /** The batch's events as intake and the workers would write them, with the missing jobs left out. */
    private static void stage(String batch) throws Exception {
        Instant t = Instant.now();
        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
            send(producer, EventTypes.BATCH_CREATED, batch, batch, new BatchCreated(batch, "default", null, ITEMS, ITEMS, "sha", null, t));
            for (int i = 0; i < ITEMS; i++) {
                if (MISSING.contains(i)) {
                    continue;
                }
                String job = JobIds.jobId(batch, i);
                send(producer, EventTypes.job(JobState.QUEUED), batch, job,
                        new JobStatusChanged(job, batch, "default", "SKU-" + i, i, JobState.QUEUED, 1, null, null, null, t));
                if (i % 2 == 0) {
                    send(producer, EventTypes.job(JobState.SUCCEEDED), batch, job,
                            new JobStatusChanged(job, batch, "default", "SKU-" + i, i, JobState.SUCCEEDED, 1, null, null, null, t));
                }
            }
            producer.flush();
        }
    }

    private static void send(KafkaProducer<String, byte[]> producer, String type, String key, String subject, Object value)
            throws Exception {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.STATUS, key, KilnJson.MAPPER.writeValueAsBytes(value));
        record.headers().add("ce_type", type.getBytes(StandardCharsets.UTF_8));
        record.headers().add("ce_subject", subject.getBytes(StandardCharsets.UTF_8));
        producer.send(record);
    }
}
