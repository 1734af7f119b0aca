package dev.kiln.observability;

import com.sun.net.httpserver.HttpServer;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.JsonSerde;
import dev.kiln.messaging.Topics;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * Boots Kiln in one process (api, dispatcher and worker) on the real stack, sends traffic through
 * every path the dashboard and the alerts watch, and checks that every Kiln metric that
 * {@code deploy/grafana/dashboards/kiln.json}, {@code deploy/prometheus/kiln-alerts.yml} and the
 * KEDA ScaledObject query is on {@code /q/metrics}. {@code AlertsAndDashboardTest} checks the same
 * names against the sources; this one against the running app, labels, units and suffixes included.
 *
 * <p>Traffic: a batch of four (one refused by the simulator's moderation) through intake (which still publishes straight to {@code kiln.jobs}
 * in this branch) with a webhook to a receiver on loopback, and a chunk of two jobs staged on
 * {@code kiln.items} for the dispatcher, which releases them to the workers.
 */
@QuarkusTest
@TestProfile(QueriedMetricsExistTest.DispatcherOn.class)
@WithTestResource(KilnStackResource.class)
class QueriedMetricsExistTest {

    /**
     * Metrics that only appear after a specific event, with the reason. Keep it short: anything
     * ordinary traffic produces must be asserted.
     */
    private static final Map<String, String> APPEAR_ONLY_WHEN = Map.of();

    private static final Pattern KILN_METRIC = Pattern.compile("\\bkiln_[a-z0-9_]*[a-z0-9]\\b");
    private static final Pattern EXPR = Pattern.compile("\"expr\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** The dispatcher is off in the other application tests (they submit straight to kiln.jobs). */
    public static class DispatcherOn implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                return Map.of("kiln.dispatcher.enabled", "true",
                        "kiln.dispatcher.state-dir", Files.createTempDirectory("kiln-dispatcher-").toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Test
    void everyMetricTheDashboardAlertsAndKedaQueryIsExported() throws Exception {
        Set<String> queried = queriedKilnMetrics();
        assertThat(queried).as("Kiln metrics queried by the dashboard, the alerts and KEDA")
                .contains("kiln_provider_calls_total", "kiln_dispatcher_backlog_images", "kiln_webhooks_backlog");

        AtomicInteger hooks = new AtomicInteger();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/hook", exchange -> {
            exchange.getRequestBody().readAllBytes();
            hooks.incrementAndGet();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        try {
            String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
            String body = "{\"external_id\": \"metrics\", \"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},"
                    + " \"webhook\": \"" + url + "\", \"items\": ["
                    + "{\"id\": \"M-1\", \"prompt\": \"Studio photo of a teal mug\"},"
                    + "{\"id\": \"M-2\", \"prompt\": \"Studio photo of a red mug\"},"
                    + "{\"id\": \"M-3\", \"prompt\": \"Studio photo of a blue mug\"},"
                    // The simulator refuses prompts with its moderation marker: a failed job and a provider error by code.
                    + "{\"id\": \"M-4\", \"prompt\": \"A FORBIDDEN poster\"}]}";
            String batchId = given().contentType(ContentType.JSON).header("Idempotency-Key", "metrics-" + UUID.randomUUID())
                    .body(body).when().post("/v1/batches").then().statusCode(202).extract().path("id");
            stageForTheDispatcher("b_metricsdispatch", "acme", 2);

            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                    given().get("/v1/batches/" + batchId).then().statusCode(200).body("state", equalTo("partially_failed")));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> hooks.get() >= 1);
            // The meters that need the dispatcher's releases, the webhook attempt and the renders.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> missing(queried, exported()).isEmpty());
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            // Fall through to the assertion, which names what is missing.
        } finally {
            receiver.stop(0);
        }
        Set<String> exported = exported();
        assertThat(missing(queried, exported)).as("metrics the dashboard, alerts or KEDA query that /q/metrics lacks "
                + "after the traffic (the app exports " + exported + ")").isEmpty();
    }

    private static Set<String> missing(Set<String> queried, Set<String> exported) {
        Set<String> missing = new TreeSet<>(queried);
        missing.removeAll(exported);
        missing.removeAll(APPEAR_ONLY_WHEN.keySet());
        return missing;
    }

    /** Metric names on /q/metrics, each sample line's name (with _total, _bucket, ...). */
    private static Set<String> exported() {
        String text = given().get("/q/metrics").then().statusCode(200).extract().asString();
        Set<String> names = new TreeSet<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                names.add(line.split("[{ ]", 2)[0]);
            }
        }
        return names;
    }

    /** Two one-image jobs of one batch, staged as intake will stage them once it goes through the dispatcher. */
    private static void stageForTheDispatcher(String batchId, String tenant, int count) throws Exception {
        ImageParameters parameters = new ImageParameters("gpt-image-2", "1024x1024", "low", null, "png", null, null, 1, null);
        List<RenderJobRequested> jobs = IntStream.range(0, count).mapToObj(i -> new RenderJobRequested(
                batchId + "-" + String.format("%06d", i), batchId, tenant, "D-" + i, i, "a terracotta mug",
                parameters, List.of(), null, Map.of(), 1, Instant.now())).toList();
        try (KafkaProducer<String, Object> producer = new KafkaProducer<>(
                Map.<String, Object>of("bootstrap.servers", KilnStackResource.bootstrapServers()),
                new StringSerializer(), new JsonSerde.JsonSerializer())) {
            producer.send(new ProducerRecord<>(Topics.ITEMS, batchId,
                    new JobsStaged(batchId, tenant, Priority.NORMAL, null, jobs))).get();
        }
    }

    /** Every kiln_* name in the dashboard's and the rules' expressions and in the KEDA queries. */
    static Set<String> queriedKilnMetrics() throws IOException {
        Set<String> names = new TreeSet<>();
        Matcher expr = EXPR.matcher(Files.readString(Path.of("deploy", "grafana", "dashboards", "kiln.json")));
        while (expr.find()) {
            names.addAll(kilnNames(expr.group(1)));
        }
        for (Path yaml : List.of(Path.of("deploy", "prometheus", "kiln-alerts.yml"),
                Path.of("k8s", "base", "keda-scaledobject.yaml"))) {
            for (String line : Files.readAllLines(yaml)) {
                if (!line.stripLeading().startsWith("#")) {
                    names.addAll(kilnNames(line));
                }
            }
        }
        return names;
    }

    private static Set<String> kilnNames(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = KILN_METRIC.matcher(text);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }
}
