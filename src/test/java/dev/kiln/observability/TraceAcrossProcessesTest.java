package dev.kiln.observability;

import dev.kiln.testing.KilnStackResource;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * One trace from the POST of a batch, through {@code kiln.jobs} (the context in the record's
 * {@code traceparent} header), to the worker's processing ({@code kiln.jobs process}, from
 * {@code @TracedRecord}) and, as its children, the provider call and the S3 put, collected by an
 * in-memory exporter ({@link InMemorySpans}). Api and worker run in one process here, but they
 * share nothing but Kafka: the worker's spans can only join the trace through the header.
 */
@QuarkusTest
@TestProfile(TraceAcrossProcessesTest.TracesOn.class)
@WithTestResource(KilnStackResource.class)
class TraceAcrossProcessesTest {

    /** The SDK on; the tests' build has no OTLP exporter, so spans go only to the in-memory one. */
    public static class TracesOn implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.otel.sdk.disabled", "false",
                    "quarkus.otel.bsp.schedule.delay", "PT0.1S");
        }
    }

    @Inject
    InMemorySpanExporter spans;

    @Test
    void oneTraceSpansThePostTheWorkerTheProviderCallAndTheS3Put() {
        spans.reset();
        String body = "{\"external_id\": \"trace\", \"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"},"
                + " \"items\": [{\"id\": \"T-1\", \"prompt\": \"Studio photo of a teal mug\"}]}";
        String batchId = given().contentType(ContentType.JSON).header("Idempotency-Key", "trace-" + UUID.randomUUID())
                .body(body).when().post("/v1/batches").then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().statusCode(200).body("state", equalTo("succeeded")));

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() ->
                find(s -> s.getName().equals("s3 put")).isPresent() && post().isPresent());
        SpanData post = post().orElseThrow();
        String trace = post.getTraceId();
        List<SpanData> inTrace = spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(trace)).toList();
        String names = inTrace.stream().map(s -> s.getKind() + " " + s.getName()).collect(Collectors.joining(", "))
                + "; all spans: " + spans.getFinishedSpanItems().stream().map(s -> s.getKind() + " " + s.getName() + " "
                + s.getTraceId().substring(0, 6) + "/" + s.getSpanId().substring(0, 4) + "<" + s.getParentSpanId().substring(0, 4))
                .collect(Collectors.joining(", "));

        SpanData consume = only(inTrace, s -> s.getKind() == SpanKind.CONSUMER && s.getName().equals("kiln.jobs receive"), names);
        SpanData process = only(inTrace, s -> s.getName().equals("kiln.jobs process"), names);
        SpanData provider = only(inTrace, s -> s.getName().equals("openai images.generations"), names);
        SpanData put = only(inTrace, s -> s.getName().equals("s3 put"), names);

        // Intake stages the batch on kiln.items with the POST's traceparent; the dispatcher keeps it
        // with each pending job and puts it on the release to kiln.jobs, however much later.
        assertThat(ancestors(consume, inTrace)).as("the worker's receive continues the POST through the dispatcher")
                .contains(post.getSpanId());
        assertThat(ancestors(process, inTrace)).as("the worker's processing continues the POST through the dispatcher")
                .contains(post.getSpanId());
        assertThat(provider.getKind()).isEqualTo(SpanKind.CLIENT);
        assertThat(provider.getParentSpanId()).as("the provider call is a child of the worker's processing")
                .isEqualTo(process.getSpanId());
        assertThat(put.getParentSpanId()).as("the S3 put is a child of the worker's processing")
                .isEqualTo(process.getSpanId());
    }

    private Optional<SpanData> post() {
        return find(s -> s.getKind() == SpanKind.SERVER && s.getName().equals("POST /v1/batches"));
    }

    private Optional<SpanData> find(Predicate<SpanData> which) {
        return spans.getFinishedSpanItems().stream().filter(which).findFirst();
    }

    private static SpanData only(List<SpanData> inTrace, Predicate<SpanData> which, String names) {
        List<SpanData> found = inTrace.stream().filter(which).toList();
        assertThat(found).as("spans of the POST's trace: " + names).isNotEmpty();
        return found.getFirst();
    }

    /** The span ids above {@code span} in its trace, nearest first. */
    private static List<String> ancestors(SpanData span, List<SpanData> inTrace) {
        Map<String, SpanData> byId = inTrace.stream().collect(Collectors.toMap(SpanData::getSpanId, s -> s, (a, b) -> a));
        List<String> chain = new java.util.ArrayList<>();
        String parent = span.getParentSpanId();
        while (byId.containsKey(parent) && !chain.contains(parent)) {
            chain.add(parent);
            parent = byId.get(parent).getParentSpanId();
        }
        return chain;
    }
}
