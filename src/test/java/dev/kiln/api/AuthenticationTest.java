package dev.kiln.api;

import dev.kiln.messaging.Topics;
import dev.kiln.tenant.ApiKeys;
import dev.kiln.tenant.AuthMode;
import dev.kiln.tenant.Caller;
import dev.kiln.tenant.KeyHash;
import dev.kiln.tenant.SecretBox;
import dev.kiln.tenant.TenantDirectory;
import dev.kiln.tenant.TenantQuotas;
import dev.kiln.tenant.TenantTopicReader;
import dev.kiln.testing.CapturedLogs;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.SecretScanner;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

/**
 * Authentication, the admin API and {@code GET /v1/tenant} on the real stack: a Kafka broker
 * carries {@code kiln.tenants}, and a second directory, built here as another api replica would
 * build it, follows every admin change within seconds. Ends by scanning every log line of the
 * run and every record of {@code kiln.tenants} for every secret involved.
 */
@QuarkusTest
@TestProfile(AuthenticationTest.KeysOn.class)
@WithTestResource(KilnStackResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuthenticationTest {

    static final String KEY_ACME = "test-acme-key-0123456789abcdef";
    static final String KEY_GLOBEX = "test-globex-key-0123456789abcdef";
    static final String KEY_UMBRELLA = "test-umbrella-key-0123456789abcdef";
    static final String KEY_HASTY = "test-hasty-key-0123456789abcdef";
    static final String ADMIN = "test-admin-key-0123456789abcdef";
    static final String SECRETS_ROOT = "test-secrets-root-0123456789abcdefghijkl";
    /** Every log line of the run, from start-up on, for the secret scan. */
    static final Path LOG_FILE = Path.of("target", "logs", "authentication-test.log");
    static final String API_KEYS = "acme=" + KEY_ACME + ",globex=sha256:" + KeyHash.of(KEY_GLOBEX).hex()
            + ",umbrella=" + KEY_UMBRELLA + ",hasty=" + KEY_HASTY;

    /** Keys on, a tight write rate and a small JSON limit, so that 429 and 413 are quick to reach. */
    public static class KeysOn implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "kiln.auth.api-keys", API_KEYS,
                    "kiln.auth.admin-api-key", ADMIN,
                    "kiln.auth.secrets-key", SECRETS_ROOT,
                    "kiln.auth.rate-limit.requests-per-second", "0.2",
                    "kiln.auth.rate-limit.burst", "3",
                    "kiln.http-limits.json-max-bytes", "4K",
                    "quarkus.log.file.enabled", "true",
                    "quarkus.log.file.path", LOG_FILE.toString());
        }
    }

    private static final SecretScanner SECRETS = new SecretScanner()
            .add("acme key", KEY_ACME).add("globex key", KEY_GLOBEX).add("umbrella key", KEY_UMBRELLA)
            .add("hasty key", KEY_HASTY).add("admin key", ADMIN).add("secrets root", SECRETS_ROOT)
            .add("S3 secret", KilnStackResource.S3_SECRET_KEY).add("provider key", KilnStackResource.PROVIDER_API_KEY);
    private static CapturedLogs logs;
    private static TenantDirectory replica;
    private static TenantTopicReader replicaReader;

    @BeforeAll
    static void startCapturingAndASecondReplica() throws InterruptedException {
        logs = CapturedLogs.start();
        replica = new TenantDirectory(AuthMode.REQUIRED, ApiKeys.parse(Optional.of(API_KEYS)), Optional.of(ADMIN),
                new TenantQuotas(100000, 100000, 1.0, null), 1, SecretBox.of(Optional.of(SECRETS_ROOT), Optional.of(ADMIN)),
                "default");
        replicaReader = new TenantTopicReader(Map.of("bootstrap.servers", KilnStackResource.kafka().bootstrapServers()),
                replica, true, Duration.ofSeconds(30));
        replicaReader.start();
        assertThat(replicaReader.awaitCaughtUp(Duration.ofSeconds(30))).isTrue();
    }

    @AfterAll
    static void stop() {
        if (replicaReader != null) {
            replicaReader.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    @Test
    @Order(1)
    void withoutAKeyEveryPathIs401ProblemJsonWithBearerChallenge() {
        for (String path : List.of("/v1/tenant", "/v1/batches/b_x", "/v1/jobs/j_x", "/v1/uploads/upl_x", "/v1/no-such-path")) {
            given().get(path).then().statusCode(401)
                    .contentType(Problem.MEDIA_TYPE)
                    .header("WWW-Authenticate", "Bearer realm=\"kiln\"")
                    .body("type", equalTo("urn:kiln:problem:unauthorized"))
                    .body("title", equalTo("Unauthorized"))
                    .body("status", equalTo(401));
        }
        given().contentType("application/json").body("{}").post("/v1/batches").then().statusCode(401);
        // Health and metrics are outside the API.
        given().get("/q/health/live").then().statusCode(200);
    }

    @Test
    @Order(2)
    void aWrongOrMalformedKeyIs401WithoutEchoingIt() {
        String wrong = "kiln_wrong-key-0123456789abcdefghijklmnop";
        Response response = given().header("Authorization", "Bearer " + wrong).get("/v1/tenant");
        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.contentType()).isEqualTo(Problem.MEDIA_TYPE);
        assertThat(response.header("WWW-Authenticate")).isEqualTo("Bearer realm=\"kiln\", error=\"invalid_token\"");
        assertThat(response.body().asString()).doesNotContain(wrong);
        for (String header : List.of("Basic " + KEY_ACME, "Bearer", "Bearer ", KEY_ACME, "Bearer " + KEY_ACME + " extra",
                "Bearer \"" + KEY_ACME + "\"", "Bearer " + "a".repeat(600), "Bearer\t" + KEY_ACME)) {
            Response malformed = given().header("Authorization", header).get("/v1/tenant");
            assertThat(malformed.statusCode()).as(header.length() > 40 ? "long header" : header).isEqualTo(401);
            assertThat(malformed.contentType()).isEqualTo(Problem.MEDIA_TYPE);
            assertThat(malformed.body().asString()).doesNotContain(KEY_ACME);
        }
        // Two Authorization headers are refused even if one holds a valid key.
        given().header("Authorization", "Bearer " + wrong).header("Authorization", "Bearer " + KEY_ACME)
                .get("/v1/tenant").then().statusCode(401);
    }

    @Test
    @Order(3)
    void getTenantSaysWhoTheKeyIs() {
        JsonPath acme = tenant(KEY_ACME).then().statusCode(200).header("Cache-Control", "no-store").extract().jsonPath();
        assertThat(acme.getString("id")).isEqualTo("acme");
        assertThat(acme.getInt("weight")).isEqualTo(1);
        assertThat(acme.getInt("quotas.max_items_per_batch")).isEqualTo(100000);
        assertThat(acme.getDouble("quotas.ipm_share_cap")).isEqualTo(1.0);
        assertThat(acme.getMap("quotas")).containsKey("monthly_budget_usd");
        assertThat(acme.getMap("usage")).containsKeys("pending_images", "month_images", "month_cost_usd");
        assertThat(acme.getString("webhook_secret")).matches("whsec_[A-Za-z0-9+/]{43}=");
        assertThat(acme.getList("webhook_secrets")).hasSize(1);
        SECRETS.add("acme webhook secret", acme.getString("webhook_secret"));
        // A key configured only as its hash works the same.
        JsonPath globex = tenant(KEY_GLOBEX).then().statusCode(200).extract().jsonPath();
        assertThat(globex.getString("id")).isEqualTo("globex");
        assertThat(globex.getString("webhook_secret")).isNotEqualTo(acme.getString("webhook_secret"));
        // Every replica derives the same first secret.
        assertThat(replica.tenant("acme").webhookSecret().value()).isEqualTo(acme.getString("webhook_secret"));
    }

    @Test
    @Order(4)
    void theAdminApiTakesTheAdminKeyOnlyAndTheAdminKeyIsNoTenant() {
        given().get("/v1/admin/tenants").then().statusCode(401).contentType(Problem.MEDIA_TYPE);
        given().header("Authorization", "Bearer " + KEY_ACME).get("/v1/admin/tenants").then().statusCode(401)
                .header("WWW-Authenticate", "Bearer realm=\"kiln\", error=\"invalid_token\"");
        given().header("Authorization", "Bearer " + ADMIN).get("/v1/tenant").then().statusCode(401);
        given().header("Authorization", "Bearer " + KEY_ACME).post("/v1/admin/tenants/acme/keys").then().statusCode(401);
        admin().get("/v1/admin/tenants").then().statusCode(200)
                .body("id", org.hamcrest.Matchers.hasItems("acme", "globex", "umbrella", "hasty"));
        admin().get("/v1/admin/tenants/nobody").then().statusCode(404).contentType(Problem.MEDIA_TYPE);
        admin().post("/v1/admin/tenants/Not%20A%20Tenant/keys").then().statusCode(400).contentType(Problem.MEDIA_TYPE);
    }

    @Test
    @Order(5)
    void aCreatedKeyWorksAtOnceHereAndWithinSecondsOnAnotherReplicaAndARevokedOneStops() throws Exception {
        Instant before = Instant.now();
        JsonPath created = admin().contentType("application/json").body("{\"label\":\"catalogue sync\"}")
                .post("/v1/admin/tenants/initech/keys")
                .then().statusCode(201).header("Cache-Control", "no-store").extract().jsonPath();
        String key = created.getString("key");
        String id = created.getString("id");
        SECRETS.add("created key", key);
        assertThat(key).startsWith("kiln_");
        assertThat(id).isEqualTo(KeyHash.of(key).id());
        assertThat(created.getString("tenant")).isEqualTo("initech");

        // This replica answers to it at once: the admin call returned only once its directory had it.
        tenant(key).then().statusCode(200).body("id", equalTo("initech"));
        // The listing shows ids, never the key or its whole hash.
        String listing = admin().get("/v1/admin/tenants/initech/keys").then().statusCode(200)
                .body("[0].id", equalTo(id)).body("[0].source", equalTo("admin")).body("[0].label", equalTo("catalogue sync"))
                .extract().asString();
        assertThat(listing).doesNotContain(key).doesNotContain(KeyHash.of(key).hex());

        // Another replica follows within seconds.
        await().atMost(Duration.ofSeconds(5)).until(() -> replica.authenticate(key).isPresent());
        assertThat(replica.authenticate(key)).contains(new Caller("initech", id));
        assertThat(Duration.between(before, Instant.now())).isLessThan(Duration.ofSeconds(10));

        // A plain consumer sees the record: the key's hash, never the key.
        List<String> values = tenantRecords("initech");
        assertThat(values).isNotEmpty();
        assertThat(values.getLast()).contains(KeyHash.of(key).hex()).doesNotContain(key);

        admin().delete("/v1/admin/tenants/initech/keys/" + id).then().statusCode(204);
        tenant(key).then().statusCode(401);
        await().atMost(Duration.ofSeconds(5)).until(() -> replica.authenticate(key).isEmpty());
        admin().delete("/v1/admin/tenants/initech/keys/" + id).then().statusCode(404).contentType(Problem.MEDIA_TYPE);
    }

    @Test
    @Order(6)
    void aConfiguredKeyCanBeRevokedToo() {
        tenant(KEY_UMBRELLA).then().statusCode(200);
        admin().delete("/v1/admin/tenants/umbrella/keys/" + KeyHash.of(KEY_UMBRELLA).id()).then().statusCode(204);
        tenant(KEY_UMBRELLA).then().statusCode(401);
        await().atMost(Duration.ofSeconds(5)).until(() -> replica.authenticate(KEY_UMBRELLA).isEmpty());
        admin().get("/v1/admin/tenants/umbrella/keys").then().statusCode(200).body("size()", equalTo(0));
    }

    @Test
    @Order(7)
    void weightAndQuotasAreSetThroughTheAdminApi() {
        admin().contentType("application/json")
                .body("{\"weight\":3,\"max_items_per_batch\":500,\"ipm_share_cap\":0.25,\"monthly_budget_usd\":120.5}")
                .patch("/v1/admin/tenants/globex").then().statusCode(200)
                .body("weight", equalTo(3)).body("quotas.max_items_per_batch", equalTo(500));
        JsonPath globex = tenant(KEY_GLOBEX).then().statusCode(200).extract().jsonPath();
        assertThat(globex.getInt("weight")).isEqualTo(3);
        assertThat(globex.getInt("quotas.max_items_per_batch")).isEqualTo(500);
        assertThat(globex.getLong("quotas.max_pending_images")).isEqualTo(100000);
        assertThat(globex.getDouble("quotas.ipm_share_cap")).isEqualTo(0.25);
        assertThat(globex.getDouble("quotas.monthly_budget_usd")).isEqualTo(120.5);
        await().atMost(Duration.ofSeconds(5)).until(() -> replica.tenant("globex").weight() == 3);

        admin().contentType("application/json").body("{\"weight\":0}").patch("/v1/admin/tenants/globex")
                .then().statusCode(400).contentType(Problem.MEDIA_TYPE).body("errors[0].field", equalTo("weight"));
        admin().contentType("application/json").body("{\"ipm_share_cap\":1.5}").patch("/v1/admin/tenants/globex")
                .then().statusCode(400).body("errors[0].field", equalTo("ipm_share_cap"));
    }

    @Test
    @Order(8)
    void aRotatedWebhookSecretSignsBesideTheOldOneForADay() {
        String old = tenant(KEY_ACME).then().statusCode(200).extract().jsonPath().getString("webhook_secret");
        JsonPath rotated = given().header("Authorization", "Bearer " + KEY_ACME).post("/v1/tenant/webhook-secret")
                .then().statusCode(200).header("Cache-Control", "no-store").extract().jsonPath();
        String fresh = rotated.getString("webhook_secret");
        SECRETS.add("rotated webhook secret", fresh);
        assertThat(fresh).startsWith("whsec_").isNotEqualTo(old);
        assertThat(rotated.getList("webhook_secrets.secret")).containsExactly(fresh, old);
        assertThat(rotated.getString("webhook_secrets[0].expires_at")).isNull();
        Instant expiry = Instant.parse(rotated.getString("webhook_secrets[1].expires_at"));
        assertThat(expiry).isBetween(Instant.now().plus(Duration.ofHours(23)), Instant.now().plus(Duration.ofHours(25)));
        tenant(KEY_ACME).then().body("webhook_secret", equalTo(fresh)).body("webhook_secrets[1].secret", equalTo(old));
        await().atMost(Duration.ofSeconds(5)).until(() -> replica.tenant("acme").webhookSecret().value().equals(fresh));
        // The topic holds the secrets sealed only.
        assertThat(tenantRecords("acme").getLast()).doesNotContain(fresh).doesNotContain(old)
                .doesNotContain(fresh.substring(6)).doesNotContain(old.substring(6));
        // Nor does the admin see them.
        assertThat(admin().get("/v1/admin/tenants/acme").then().statusCode(200).extract().asString())
                .doesNotContain(fresh).doesNotContain(old).doesNotContain("webhook");
    }

    @Test
    @Order(9)
    void writesOverTheKeysRateAre429WithRetryAfter() {
        List<Integer> statuses = new ArrayList<>();
        String retryAfter = null;
        for (int i = 0; i < 6; i++) {
            Response response = given().header("Authorization", "Bearer " + KEY_HASTY).contentType("application/json")
                    .body("{\"items\":[]}").post("/v1/batches");
            statuses.add(response.statusCode());
            if (response.statusCode() == 429) {
                retryAfter = response.header("Retry-After");
                assertThat(response.contentType()).isEqualTo(Problem.MEDIA_TYPE);
            }
        }
        assertThat(statuses.subList(0, 3)).doesNotContain(429);
        assertThat(statuses.subList(3, 6)).containsOnly(429);
        assertThat(Integer.parseInt(retryAfter)).isBetween(1, 5);
        // Reads are not limited, and another key has its own bucket.
        tenant(KEY_HASTY).then().statusCode(200);
        given().header("Authorization", "Bearer " + KEY_GLOBEX).contentType("application/json").body("{\"items\":[]}")
                .post("/v1/batches").then().statusCode(org.hamcrest.Matchers.not(429));
    }

    @Test
    @Order(10)
    void bodiesOfUnknownTypesAre415AndOverTheirTypesLimit413() {
        given().header("Authorization", "Bearer " + KEY_GLOBEX).contentType("text/plain").body("hello")
                .post("/v1/batches").then().statusCode(415).contentType(Problem.MEDIA_TYPE)
                .body("status", equalTo(415));
        given().header("Authorization", "Bearer " + KEY_GLOBEX).contentType("application/json")
                .body("{\"items\":[],\"external_id\":\"" + "x".repeat(5000) + "\"}")
                .post("/v1/batches").then().statusCode(413).contentType(Problem.MEDIA_TYPE)
                .body("detail", equalTo("a application/json body may have at most 4096 bytes"));
        // Without a key, the limits say nothing: 401 first.
        given().contentType("text/plain").body("hello").post("/v1/batches").then().statusCode(401);
    }

    @Test
    @Order(100)
    void noSecretReachedALogLineOrTheTopicInTheClear() throws IOException {
        assertThat(SECRETS.size()).isGreaterThanOrEqualTo(10);
        List<String> lines = new ArrayList<>(logs.lines());
        lines.addAll(Files.readAllLines(LOG_FILE));
        assertThat(lines).anyMatch(line -> line.contains("kiln.tenants"));
        assertThat(SECRETS.findInAll(lines)).as("secrets found in log lines").isEmpty();
        assertThat(SECRETS.findInAll(tenantRecords(null))).as("secrets found in kiln.tenants").isEmpty();
    }

    private static io.restassured.specification.RequestSpecification admin() {
        return given().header("Authorization", "Bearer " + ADMIN);
    }

    private static Response tenant(String key) {
        return given().header("Authorization", "Bearer " + key).get("/v1/tenant");
    }

    /** Every value of {@code kiln.tenants} for {@code tenant} (all when null), read by a consumer of its own. */
    private static List<String> tenantRecords(String tenant) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                "bootstrap.servers", KilnStackResource.kafka().bootstrapServers(),
                "key.deserializer", StringDeserializer.class.getName(),
                "value.deserializer", StringDeserializer.class.getName()))) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.TENANTS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            List<String> values = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    if (tenant == null || tenant.equals(record.key())) {
                        values.add(record.value());
                    }
                }
            }
            return values;
        }
    }
}
