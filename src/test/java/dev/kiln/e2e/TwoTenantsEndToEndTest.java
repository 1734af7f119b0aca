package dev.kiln.e2e;

import dev.kiln.api.Problem;
import dev.kiln.messaging.Topics;
import dev.kiln.testing.CapturedLogs;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.SecretScanner;
import dev.kiln.testing.TestImages;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * Two tenants on the real stack (Kafka broker, S3 server, simulator), keys on. Tenant acme runs a
 * mixed batch (one item moderated) watched over SSE, reconnecting half-way; globex then gets 404
 * for every path of acme's, does not see acme's batch in its list, cannot reference acme's
 * objects, and no error names anything of acme's. The manifest matches the items endpoint line
 * for line and the stored copy equals it but for the URLs. A fuzz of malformed writes gets 4xx
 * problem+json only and enqueues nothing. Last, every log line and every {@code kiln.status}
 * record is scanned for every configured secret.
 */
@QuarkusTest
@TestProfile(TwoTenantsEndToEndTest.TwoTenants.class)
@WithTestResource(KilnStackResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TwoTenantsEndToEndTest {

    static final String KEY_A = "test-acme-e2e-key-0123456789abcdef";
    static final String KEY_B = "test-globex-e2e-key-0123456789abcdef";
    static final String ADMIN = "test-admin-e2e-key-0123456789abcdef";
    static final String SECRETS_ROOT = "test-secrets-e2e-root-0123456789abcdefghij";
    private static final int ITEMS = 50;
    private static final int MODERATED = 11;

    /** Keys on for two tenants; the write rate off, so that the fuzz measures answers, not 429s. */
    public static class TwoTenants implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "kiln.auth.api-keys", "acme=" + KEY_A + ",globex=" + KEY_B,
                    "kiln.auth.admin-api-key", ADMIN,
                    "kiln.auth.secrets-key", SECRETS_ROOT,
                    "kiln.auth.rate-limit.requests-per-second", "0",
                    "kiln.status-view.sse-heartbeat", "PT1S");
        }
    }

    private static CapturedLogs logs;
    private static String batchId;
    private static String uploadId;
    private static final List<String> aKeys = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Inject
    MinioClient minio;

    @BeforeAll
    static void capture() {
        logs = CapturedLogs.start();
    }

    @AfterAll
    static void stop() {
        if (logs != null) {
            logs.close();
        }
    }

    private static RequestSpecification as(String key) {
        return given().header("Authorization", "Bearer " + key);
    }

    @Test
    @Order(1)
    void tenantARunsAMixedBatchWatchedOverSseWithAReconnect() throws Exception {
        uploadId = as(KEY_A).multiPart("file", "ref.png", TestImages.png(1024, 1024), "image/png")
                .post("/v1/uploads").then().statusCode(201).extract().path("id");
        batchId = as(KEY_A).contentType("application/json").header("Idempotency-Key", "two-tenants-" + UUID.randomUUID())
                .body(catalogue()).post("/v1/batches").then().statusCode(202).extract().path("id");

        // First connection: until half of the jobs have ended, then hang up.
        List<SseEvent> first = new ArrayList<>();
        readEvents(batchId, null, first, events -> finals(events).size() >= ITEMS / 2);
        assertThat(first).isNotEmpty();
        assertThat(first.getFirst().type()).isEqualTo("kiln.batch.created");
        String lastId = first.getLast().id();

        // Second connection resumes after the last id and runs to the end of the batch.
        List<SseEvent> second = new ArrayList<>();
        readEvents(batchId, lastId, second, events -> false);
        assertThat(second).isNotEmpty();
        assertThat(second.getLast().type()).isEqualTo("kiln.batch.completed");
        assertThat(Long.parseLong(second.getFirst().id())).isGreaterThan(Long.parseLong(lastId));

        List<SseEvent> all = new ArrayList<>(first);
        all.addAll(second);
        List<Long> ids = all.stream().map(e -> Long.parseLong(e.id())).toList();
        assertThat(ids).isSorted().doesNotHaveDuplicates();
        Map<String, String> finalStates = finals(all);
        assertThat(finalStates).hasSize(ITEMS);
        assertThat(finalStates.values().stream().filter("kiln.job.failed"::equals)).hasSize(1);
        assertThat(finalStates.get(batchId + "-0000" + MODERATED)).isEqualTo("kiln.job.failed");
        for (SseEvent event : all) {
            assertThat(new JsonPath(event.data()).getString("batch_id")).isEqualTo(batchId);
        }

        // A stream opened after the end replays the whole batch and ends by itself.
        List<SseEvent> replay = new ArrayList<>();
        readEvents(batchId, null, replay, events -> false);
        assertThat(replay.stream().map(SseEvent::id).toList()).isEqualTo(all.stream().map(SseEvent::id).toList());
        // After the final event there is nothing more to send: an empty stream that ends.
        List<SseEvent> after = new ArrayList<>();
        readEvents(batchId, all.getLast().id(), after, events -> false);
        assertThat(after).isEmpty();

        as(KEY_A).get("/v1/batches/" + batchId).then().statusCode(200).body("state", equalTo("partially_failed"));
        JsonPath items = as(KEY_A).get("/v1/batches/" + batchId + "/items?limit=1000").then().statusCode(200)
                .extract().jsonPath();
        aKeys.addAll(items.getList("items.outputs.flatten().key", String.class));
        assertThat(aKeys).hasSize(ITEMS - 1).allMatch(k -> k.startsWith("acme/" + batchId + "/"));
    }

    @Test
    @Order(2)
    void itemsByIdAndTheListOfBatches() {
        JsonPath item = as(KEY_A).get("/v1/batches/" + batchId + "/items/SKU-3").then().statusCode(200)
                .extract().jsonPath();
        assertThat(item.getString("id")).isEqualTo(batchId + "-000003");
        assertThat(item.getString("item_id")).isEqualTo("SKU-3");
        assertThat(item.getString("outputs[0].url")).contains("acme/" + batchId + "/SKU-3/");
        as(KEY_A).get("/v1/batches/" + batchId + "/items/SKU-404").then().statusCode(404)
                .contentType(Problem.MEDIA_TYPE);

        // A second, newer batch of acme's: the list is newest first, pages by cursor, filters.
        String newer = as(KEY_A).contentType("application/json")
                .body("{\"external_id\": \"second\", \"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},"
                        + " \"items\": [{\"id\": \"x\", \"prompt\": \"a small red mug\"}]}")
                .post("/v1/batches").then().statusCode(202).extract().path("id");
        JsonPath list = as(KEY_A).get("/v1/batches?limit=1").then().statusCode(200).extract().jsonPath();
        assertThat(list.getList("batches.id")).containsExactly(newer);
        String cursor = list.getString("next_cursor");
        assertThat(cursor).isNotNull();
        JsonPath next = as(KEY_A).get("/v1/batches?limit=1&cursor=" + cursor).then().statusCode(200).extract().jsonPath();
        assertThat(next.getList("batches.id")).containsExactly(batchId);
        assertThat(next.getString("next_cursor")).isNull();
        assertThat(as(KEY_A).get("/v1/batches?external_id=nightly-1").then().statusCode(200).extract()
                .jsonPath().getList("batches.id")).containsExactly(batchId);
        assertThat(as(KEY_A).get("/v1/batches?state=partially_failed").then().statusCode(200).extract()
                .jsonPath().getList("batches.id")).containsExactly(batchId);
        for (String bad : List.of("state=done", "limit=0", "limit=100000", "cursor=nonsense",
                "cursor=" + java.util.Base64.getUrlEncoder().encodeToString("l:../etc".getBytes(StandardCharsets.UTF_8)))) {
            as(KEY_A).get("/v1/batches?" + bad).then().statusCode(400).contentType(Problem.MEDIA_TYPE);
        }
        // globex sees none of them.
        assertThat(as(KEY_B).get("/v1/batches").then().statusCode(200).extract().jsonPath().getList("batches"))
                .isEmpty();
        assertThat(as(KEY_B).get("/v1/batches?external_id=nightly-1").then().statusCode(200).extract()
                .jsonPath().getList("batches")).isEmpty();
    }

    @Test
    @Order(3)
    void tenantBGets404ForEveryPathOfTenantA() throws Exception {
        String job = batchId + "-000003";
        Map<String, String> paths = new LinkedHashMap<>();
        paths.put("batch", "/v1/batches/" + batchId);
        paths.put("items", "/v1/batches/" + batchId + "/items");
        paths.put("item by id", "/v1/batches/" + batchId + "/items/SKU-3");
        paths.put("job", "/v1/jobs/" + job);
        paths.put("upload", "/v1/uploads/" + uploadId);
        paths.put("manifest", "/v1/batches/" + batchId + "/manifest");
        paths.put("events", "/v1/batches/" + batchId + "/events");
        Map<String, String> missing = Map.of(
                "batch", "/v1/batches/b_0000000000000000000000000a",
                "job", "/v1/jobs/b_0000000000000000000000000a-000003",
                "upload", "/v1/uploads/upl_0000000000000000000000000a");
        for (Map.Entry<String, String> path : paths.entrySet()) {
            Response b = as(KEY_B).get(path.getValue());
            assertThat(b.statusCode()).as(path.getKey()).isEqualTo(404);
            assertThat(b.contentType()).as(path.getKey()).isEqualTo(Problem.MEDIA_TYPE);
            assertNothingOfA(path.getKey(), b.body().asString());
            // The owner still gets it.
            assertThat(as(KEY_A).get(path.getValue()).statusCode()).as(path.getKey()).isEqualTo(200);
        }
        // The same answer as an id that does not exist, but for the id itself.
        for (Map.Entry<String, String> path : missing.entrySet()) {
            JsonPath none = as(KEY_B).get(path.getValue()).then().statusCode(404).extract().jsonPath();
            JsonPath others = as(KEY_B).get(paths.get(path.getKey())).then().statusCode(404).extract().jsonPath();
            assertThat(others.getString("type")).isEqualTo(none.getString("type"));
            assertThat(others.getString("title")).isEqualTo(none.getString("title"));
        }
        // Cancel, retry and delete are no different.
        for (String write : List.of("/v1/batches/" + batchId + "/cancel", "/v1/batches/" + batchId + "/retry",
                "/v1/jobs/" + job + "/cancel", "/v1/jobs/" + job + "/retry")) {
            Response b = as(KEY_B).contentType("application/json").body("{}").post(write);
            assertThat(b.statusCode()).as(write).isEqualTo(404);
            assertNothingOfA(write, b.body().asString());
        }
        Response delete = as(KEY_B).delete("/v1/batches/" + batchId);
        assertThat(delete.statusCode()).isEqualTo(404);
        assertThat(delete.contentType()).isEqualTo(Problem.MEDIA_TYPE);
        assertNothingOfA("delete", delete.body().asString());
        as(KEY_A).get("/v1/batches/" + batchId).then().statusCode(200);
    }

    @Test
    @Order(4)
    void tenantACannotBeReferencedByTenantB() {
        List<String> refs = List.of(aKeys.getFirst(), "acme/uploads/" + uploadId, uploadId,
                "globex/../" + aKeys.getFirst(), "globex/./../acme/uploads/" + uploadId);
        for (String ref : refs) {
            String body = "{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [{\"id\": \"r\","
                    + " \"prompt\": \"edit it\", \"reference_images\": [\"" + ref + "\"]}]}";
            for (String path : List.of("/v1/batches?dry_run=true", "/v1/batches")) {
                Response b = as(KEY_B).contentType("application/json").body(body).post(path);
                assertThat(b.statusCode()).as(ref).isEqualTo(400);
                assertThat(b.contentType()).isEqualTo(Problem.MEDIA_TYPE);
                assertThat(b.body().asString()).as(ref).doesNotContain("acme");
            }
        }
        // acme itself may use both.
        String own = "{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [{\"id\": \"r\","
                + " \"prompt\": \"edit it\", \"reference_images\": [\"" + aKeys.getFirst() + "\", \"" + uploadId + "\"]}]}";
        as(KEY_A).contentType("application/json").body(own).post("/v1/batches?dry_run=true").then().statusCode(200);
    }

    @Test
    @Order(5)
    void theManifestMatchesTheItemsLineForLineAndTheStoredCopyButTheUrls() throws Exception {
        String streamed = as(KEY_A).get("/v1/batches/" + batchId + "/manifest").then().statusCode(200)
                .contentType("application/x-ndjson").extract().asString();
        List<String> lines = streamed.lines().toList();
        assertThat(lines).hasSize(ITEMS);
        List<Map<String, Object>> items = as(KEY_A).get("/v1/batches/" + batchId + "/items?limit=1000").then()
                .statusCode(200).extract().jsonPath().getList("items");
        for (int i = 0; i < ITEMS; i++) {
            Map<String, Object> line = new JsonPath(lines.get(i)).getMap("");
            Map<String, Object> item = items.get(i);
            assertThat(withoutUrls(line)).as("line %d", i).isEqualTo(withoutUrls(item));
            assertThat(line.keySet()).isEqualTo(item.keySet());
        }
        assertThat(lines.get(MODERATED)).contains("\"state\":\"failed\"", "moderation_blocked");

        String key = "acme/manifests/" + batchId + ".jsonl";
        String stored = await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
            try (InputStream in = minio.getObject(GetObjectArgs.builder().bucket("kiln").object(key).build())) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }, s -> !s.isEmpty());
        assertThat(stored).doesNotContain("\"url\"", "X-Amz-Signature");
        List<String> storedLines = stored.lines().toList();
        assertThat(storedLines).hasSize(ITEMS);
        for (int i = 0; i < ITEMS; i++) {
            assertThat(new JsonPath(storedLines.get(i)).getMap(""))
                    .isEqualTo(withoutUrls(new JsonPath(lines.get(i)).getMap("")));
        }
    }

    @Test
    @Order(6)
    void malformedWritesGetProblemsOnlyAndEnqueueNothing() throws Exception {
        Map<TopicPartition, Long> before = endOffsets();
        int aBatches = as(KEY_A).get("/v1/batches?limit=1000").then().extract().jsonPath().getList("batches").size();
        Random random = new Random(20261130L);
        Map<String, Integer> sent = new LinkedHashMap<>();
        int count = 0;
        for (Fuzz fuzz : fuzzCases(random)) {
            HttpResponse<String> response = send(fuzz);
            String what = fuzz.endpoint() + " / " + fuzz.name();
            assertThat(response.statusCode()).as(what + ": " + abbreviate(new String(fuzz.body(), StandardCharsets.ISO_8859_1))
                    + " -> " + abbreviate(response.body())).isBetween(400, 499);
            assertThat(response.headers().firstValue("Content-Type")).as(what).hasValue(Problem.MEDIA_TYPE);
            JsonPath problem = new JsonPath(response.body());
            assertThat(problem.getInt("status")).as(what).isEqualTo(response.statusCode());
            assertThat(response.body()).as(what).doesNotContain("\tat ", "Exception", KEY_A, KEY_B, ADMIN);
            sent.merge(fuzz.endpoint(), 1, Integer::sum);
            count++;
        }
        assertThat(sent.values()).allMatch(n -> n >= 300);
        assertThat(count).isGreaterThanOrEqualTo(900);
        assertThat(sent).containsKeys("PATCH /v1/admin/tenants/{tenant}", "DELETE /v1/batches/{id}",
                "POST /v1/batches/{id}/cancel", "POST /v1/batches/{id}/retry");
        assertThat(endOffsets()).isEqualTo(before);
        assertThat(as(KEY_A).get("/v1/batches?limit=1000").then().extract().jsonPath().getList("batches"))
                .hasSize(aBatches);
    }

    @Test
    @Order(7)
    void noSecretInAnyLogLineOrStatusEvent() {
        String whsecA = as(KEY_A).get("/v1/tenant").then().statusCode(200).extract().path("webhook_secret");
        String whsecB = as(KEY_B).get("/v1/tenant").then().statusCode(200).extract().path("webhook_secret");
        SecretScanner secrets = new SecretScanner().add("acme key", KEY_A).add("globex key", KEY_B)
                .add("admin key", ADMIN).add("secrets root", SECRETS_ROOT)
                .add("S3 secret", KilnStackResource.S3_SECRET_KEY).add("provider key", KilnStackResource.PROVIDER_API_KEY)
                .add("acme webhook secret", whsecA).add("globex webhook secret", whsecB);
        assertThat(logs.lines()).hasSizeGreaterThan(10);
        assertThat(secrets.findInAll(logs.lines())).as("secrets in log lines").isEmpty();
        List<String> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.STATUS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    StringBuilder text = new StringBuilder(String.valueOf(record.key())).append(' ');
                    for (Header header : record.headers()) {
                        text.append(header.key()).append('=').append(new String(header.value(), StandardCharsets.UTF_8)).append(' ');
                    }
                    records.add(text.append(record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8)).toString());
                }
            }
        }
        assertThat(records.size()).isGreaterThan(ITEMS * 3);
        assertThat(secrets.findInAll(records)).as("secrets in kiln.status").isEmpty();
    }

    // ---- SSE client ----

    record SseEvent(String id, String type, String data) {
    }

    /** Reads events until the stream ends or {@code stop} holds for what was read. */
    private void readEvents(String batch, String lastEventId, List<SseEvent> into,
                            java.util.function.Predicate<List<SseEvent>> stop) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri("/v1/batches/" + batch + "/events"))
                .header("Authorization", "Bearer " + KEY_A).header("Accept", "text/event-stream")
                .timeout(Duration.ofSeconds(120));
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<Stream<String>> response = http.send(request.build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
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

    /** Job id to final event type, the latest per job. */
    private static Map<String, String> finals(List<SseEvent> events) {
        Map<String, String> out = new HashMap<>();
        for (SseEvent event : events) {
            if (Set.of("kiln.job.succeeded", "kiln.job.failed", "kiln.job.cancelled", "kiln.job.expired").contains(event.type())) {
                out.put(new JsonPath(event.data()).getString("job_id"), event.type());
            }
        }
        return out;
    }

    // ---- fuzz ----

    record Fuzz(String endpoint, String name, String path, String contentType, List<String> authorization, byte[] body) {
    }

    private static final String BOUNDARY = "kiln-fuzz";
    private static final String MULTIPART = "multipart/form-data; boundary=" + BOUNDARY;

    /** At least 300 malformed requests to each write endpoint, every one of which must be refused. */
    private static List<Fuzz> fuzzCases(Random random) {
        List<Fuzz> out = new ArrayList<>();
        String valid = "{\"defaults\":{\"size\":\"1024x1024\",\"quality\":\"low\"},\"items\":[{\"id\":\"a\",\"prompt\":\"mug\",\"metadata\":{\"row\":1}}]}";
        List<Supplier<String>> wrongTypes = List.of(
                () -> "{\"items\": " + pick(random, "1", "\"a\"", "{}", "true", "null") + "}",
                () -> "{\"items\": [{\"id\": \"a\", \"prompt\": " + pick(random, "1", "[]", "{}", "true") + "}]}",
                () -> "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"n\": " + pick(random, "\"two\"", "[]", "{}", "1.5", "99999999999999999999") + "}]}",
                () -> "{\"defaults\": " + pick(random, "[]", "\"x\"", "7") + ", \"items\": [{\"id\": \"a\", \"prompt\": \"p\"}]}",
                () -> "{\"items\": [{\"id\": " + pick(random, "{}", "[]", "true") + ", \"prompt\": \"p\"}]}",
                () -> "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"metadata\": " + pick(random, "\"x\"", "[1]", "3") + "}]}",
                () -> "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"reference_images\": " + pick(random, "{}", "\"x\"", "[1]", "[[]]") + "}]}",
                () -> "{\"items\": [" + "1,".repeat(1000 + random.nextInt(50_000)) + "1]}",
                () -> "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"reference_images\": [" + "\"upl_x\",".repeat(17 + random.nextInt(5000)) + "\"upl_x\"]}]}");
        for (int i = 0; i < 330; i++) {
            String path = random.nextBoolean() ? "/v1/batches" : "/v1/batches?dry_run=true";
            List<String> auth = List.of("Bearer " + KEY_A);
            String type = "application/json";
            String name;
            String body;
            switch (i % 11) {
                case 0 -> { name = "truncated JSON"; body = valid.substring(0, random.nextInt(valid.length() - 1)); }
                case 1 -> { name = "wrong type"; body = wrongTypes.get(random.nextInt(wrongTypes.size())).get(); }
                case 2 -> {
                    int depth = 65 + random.nextInt(3000);
                    name = "deep metadata " + depth;
                    body = "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"metadata\": " + "[".repeat(depth) + "]".repeat(depth) + "}]}";
                }
                case 3 -> {
                    name = "huge string";
                    int length = random.nextBoolean() ? 40_000 + random.nextInt(10_000) : 1_000_001 + random.nextInt(100);
                    body = "{\"items\": [{\"id\": \"a\", \"prompt\": \"" + "x".repeat(length) + "\"}]}";
                }
                case 4 -> { name = "huge number"; body = "{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"n\": " + "9".repeat(101 + random.nextInt(1000)) + "}]}"; }
                case 5 -> {
                    type = pick(random, "text/plain", "application/xml", "application/x-www-form-urlencoded", "image/png", "foo/bar", "application/jsonx");
                    name = "content type " + type;
                    body = valid;
                }
                case 6 -> { name = "no content type"; type = null; body = valid; }
                case 7 -> { name = "multipart to JSON"; type = MULTIPART; body = part("file", "a.json", "application/json", valid) + end(); }
                case 8 -> { auth = badAuth(random); name = "bad auth " + auth.size(); body = valid; }
                case 9 -> { name = "random bytes"; body = new String(randomBytes(random, 1 + random.nextInt(2000)), StandardCharsets.ISO_8859_1); type = "application/json"; }
                default -> { name = "bad NDJSON"; type = "application/x-ndjson"; body = "{\"batch\": " + pick(random, "[]", "1", "{\"items\": 3}") + "}\n{\"id\": \"a\", \"prompt\": " + pick(random, "1", "{}", "[") + "}\n"; }
            }
            out.add(new Fuzz("POST /v1/batches", name, path, type, auth, body.getBytes(StandardCharsets.ISO_8859_1)));
        }
        String png = new String(TestImages.png(32, 32), StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 320; i++) {
            List<String> auth = List.of("Bearer " + KEY_B);
            String type = MULTIPART;
            String name;
            String body;
            switch (i % 8) {
                case 0 -> { name = "truncated image"; body = part("file", "a.png", "image/png", png.substring(0, 1 + random.nextInt(png.length() / 2))) + end(); }
                case 1 -> { name = "random bytes as image"; body = part("file", "a.png", "image/png", new String(randomBytes(random, 1 + random.nextInt(5000)), StandardCharsets.ISO_8859_1)) + end(); }
                case 2 -> { name = "bad multipart"; body = pick(random, "garbage", "--" + BOUNDARY + "\r\nContent-Disposition: form-da", end(), "--" + BOUNDARY + "\r\n\r\n" + png + end()); }
                case 3 -> { name = "wrong part name"; body = part(pick(random, "image", "files", "FILE", ""), "a.png", "image/png", png) + end(); }
                case 4 -> { name = "two files"; body = part("file", "a.png", "image/png", png) + part("file", "b.png", "image/png", png) + end(); }
                case 5 -> { type = pick(random, "application/json", "image/png", "text/plain", "multipart/form-data", "multipart/mixed; boundary=" + BOUNDARY); name = "content type " + type; body = part("file", "a.png", "image/png", png) + end(); }
                case 6 -> { auth = badAuth(random); name = "bad auth"; body = part("file", "a.png", "image/png", png) + end(); }
                default -> { name = "empty file"; body = part("file", "a.png", "image/png", "") + end(); }
            }
            out.add(new Fuzz("POST /v1/uploads", name, "/v1/uploads", type, auth, body.getBytes(StandardCharsets.ISO_8859_1)));
        }
        for (int i = 0; i < 320; i++) {
            List<String> auth = List.of("Bearer " + ADMIN);
            String type = "application/json";
            String name;
            String body;
            switch (i % 6) {
                case 0 -> { name = "truncated JSON"; String v = "{\"label\": \"nightly sync\"}"; body = v.substring(0, 1 + random.nextInt(v.length() - 2)); }
                case 1 -> { name = "label wrong type"; body = "{\"label\": " + pick(random, "[]", "{}", "[\"a\"]") + "}"; }
                case 2 -> { int depth = 65 + random.nextInt(3000); name = "deep"; body = "{\"label\": " + "[".repeat(depth) + "]".repeat(depth) + "}"; }
                case 3 -> { auth = random.nextBoolean() ? List.of("Bearer " + KEY_A) : badAuth(random); name = "not the admin key"; body = "{\"label\": \"x\"}"; }
                // Not a content-type case: the admin API reads a body of any declared type today (reported).
                case 4 -> { name = "label an object"; body = "{\"label\": {\"a\": " + random.nextInt(100) + "}}"; }
                default -> { name = "random bytes"; body = new String(randomBytes(random, 1 + random.nextInt(500)), StandardCharsets.ISO_8859_1); }
            }
            out.add(new Fuzz("POST /v1/admin/tenants/{tenant}/keys", name, "/v1/admin/tenants/fuzzed/keys", type, auth,
                    body.getBytes(StandardCharsets.ISO_8859_1)));
        }
        // The admin API's quotas: wrong types, values out of range, broken JSON, a tenant's key.
        List<Supplier<String>> badSettings = List.of(
                () -> "{\"weight\": " + pick(random, "0", "-1", "1001", "\"two\"", "1.5", "[]", "{}", "true", "99999999999999999999") + "}",
                () -> "{\"max_items_per_batch\": " + pick(random, "0", "-5", "\"x\"", "[]", "2.5", "99999999999999999999") + "}",
                () -> "{\"max_pending_images\": " + pick(random, "0", "-1", "\"x\"", "{}", "1e400", "9".repeat(30)) + "}",
                () -> "{\"ipm_share_cap\": " + pick(random, "0", "-0.5", "1.01", "2", "\"half\"", "[]", "NaN") + "}",
                () -> "{\"monthly_budget_usd\": " + pick(random, "-1", "-0.01", "\"lots\"", "[]", "{}") + "}");
        for (int i = 0; i < 320; i++) {
            List<String> auth = List.of("Bearer " + ADMIN);
            String type = "application/json";
            String name;
            String body;
            switch (i % 6) {
                case 0, 1 -> { name = "bad setting"; body = badSettings.get(random.nextInt(badSettings.size())).get(); }
                case 2 -> { name = "truncated JSON"; String v = "{\"weight\": 2, \"max_pending_images\": 50}"; body = v.substring(0, 1 + random.nextInt(v.length() - 2)); }
                case 3 -> { int depth = 65 + random.nextInt(3000); name = "deep"; body = "{\"weight\": " + "[".repeat(depth) + "]".repeat(depth) + "}"; }
                case 4 -> { auth = random.nextBoolean() ? List.of("Bearer " + KEY_A) : badAuth(random); name = "not the admin key"; body = "{\"weight\": 2}"; }
                default -> { name = "random bytes"; body = new String(randomBytes(random, 1 + random.nextInt(500)), StandardCharsets.ISO_8859_1); }
            }
            out.add(new Fuzz("PATCH /v1/admin/tenants/{tenant}", name, "/v1/admin/tenants/fuzzed", type, auth,
                    body.getBytes(StandardCharsets.ISO_8859_1)));
        }
        // Writes that take no body still refuse every bad key, and another tenant's id or an id of no form is a 404.
        for (String path : List.of("/v1/tenant/webhook-secret", "/v1/batches/b_0000000000000000000000000a/webhook/resend")) {
            for (int i = 0; i < 300; i++) {
                out.add(new Fuzz("POST " + path, "bad auth", path, "application/json", badAuth(random), "{}".getBytes(StandardCharsets.UTF_8)));
            }
        }
        List<Supplier<String>> ids = List.of(() -> batchId, () -> "b_0000000000000000000000000a",
                () -> pick(random, "%2E%2E", "b_", "x".repeat(1 + random.nextInt(300)), "b_%00", "%F0%9F%A6%8A", batchId + "-000001"));
        for (String[] write : List.of(new String[] {"DELETE", ""}, new String[] {"POST", "/cancel"}, new String[] {"POST", "/retry"})) {
            for (int i = 0; i < 300; i++) {
                boolean badKey = random.nextBoolean();
                List<String> auth = badKey ? badAuth(random) : List.of("Bearer " + KEY_B);
                String path = "/v1/batches/" + ids.get(random.nextInt(ids.size())).get() + write[1];
                out.add(new Fuzz(write[0] + " /v1/batches/{id}" + write[1], badKey ? "bad auth" : "not B's batch", path,
                        null, auth, new byte[0]));
            }
        }
        return out;
    }

    private static List<String> badAuth(Random random) {
        return switch (random.nextInt(9)) {
            case 0 -> List.of();
            case 1 -> List.of("Basic " + java.util.Base64.getEncoder().encodeToString(("acme:" + KEY_A).getBytes(StandardCharsets.UTF_8)));
            case 2 -> List.of("Bearer");
            case 3 -> List.of("Bearer " + "k".repeat(1 + random.nextInt(4000)));
            case 4 -> List.of("Bearer " + KEY_A, "Bearer " + KEY_B);
            case 5 -> List.of("Bearer \"" + KEY_A + "\"");
            case 6 -> List.of("bearer  " + KEY_A.substring(0, KEY_A.length() - 1));
            case 7 -> List.of(KEY_A);
            default -> List.of("Bearer " + new String(randomBytes(random, 24), StandardCharsets.ISO_8859_1).replaceAll("[^!-~]", "x"));
        };
    }

    private HttpResponse<String> send(Fuzz fuzz) throws Exception {
        String method = fuzz.endpoint().substring(0, fuzz.endpoint().indexOf(' '));
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(fuzz.path())).timeout(Duration.ofSeconds(30))
                .method(method, fuzz.body().length == 0 && !method.equals("POST") ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(fuzz.body()));
        if (fuzz.contentType() != null) {
            request.header("Content-Type", fuzz.contentType());
        }
        for (String auth : fuzz.authorization()) {
            request.header("Authorization", auth);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    // ---- helpers ----

    private static Map<String, Object> withoutUrls(Map<String, Object> item) {
        Map<String, Object> copy = new LinkedHashMap<>(item);
        Object outputs = copy.get("outputs");
        if (outputs instanceof List<?> list) {
            List<Object> stripped = new ArrayList<>();
            for (Object o : list) {
                @SuppressWarnings("unchecked")
                Map<String, Object> output = new LinkedHashMap<>((Map<String, Object>) o);
                output.remove("url");
                if (output.get("thumbnail") instanceof Map<?, ?> thumbnail) {
                    Map<Object, Object> keysOnly = new LinkedHashMap<>(thumbnail);
                    keysOnly.remove("url");
                    output.put("thumbnail", keysOnly);
                }
                stripped.add(output);
            }
            copy.put("outputs", stripped);
        }
        return copy;
    }

    private static void assertNothingOfA(String what, String body) {
        assertThat(body).as(what).doesNotContain("acme", "SKU-", "mug", "nightly", KEY_A);
    }

    private Map<TopicPartition, Long> endOffsets() {
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : List.of(Topics.STATUS, Topics.JOBS, Topics.ITEMS, Topics.CONTROL, Topics.TENANTS)) {
                consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
            }
            return consumer.endOffsets(partitions);
        }
    }

    private static KafkaConsumer<String, byte[]> consumer() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers());
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return new KafkaConsumer<>(props);
    }

    private static URI uri(String path) {
        return URI.create(RestAssured.baseURI + ":" + RestAssured.port + path);
    }

    private static String catalogue() {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < ITEMS; i++) {
            if (i > 0) {
                items.append(',');
            }
            String prompt = i == MODERATED ? "A FORBIDDEN product photo" : "Studio photo of mug number " + i;
            items.append("{\"id\": \"SKU-").append(i).append("\", \"prompt\": \"").append(prompt)
                    .append("\", \"metadata\": {\"row\": ").append(i).append("}}");
        }
        return "{\"external_id\": \"nightly-1\", \"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},"
                + " \"items\": [" + items + "]}";
    }

    private static String pick(Random random, String... options) {
        return options[random.nextInt(options.length)];
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }

    private static String abbreviate(String text) {
        return text == null || text.length() < 300 ? text : text.substring(0, 300) + "…";
    }

    private static String part(String name, String filename, String type, String content) {
        return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename
                + "\"\r\nContent-Type: " + type + "\r\n\r\n" + content + "\r\n";
    }

    private static String end() {
        return "--" + BOUNDARY + "--\r\n";
    }
}
