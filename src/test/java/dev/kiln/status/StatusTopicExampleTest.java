package dev.kiln.status;

import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code examples/StatusTopicConsumer.java}, the consumer of {@code kiln.status} the README tells
 * internal services to copy, run as the README says (a single-file Java program with the Kafka
 * client on its class path) against the real broker of the stack, for a batch with a failed item.
 * Its output is kept in {@code target/status-topic-example.txt}.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class StatusTopicExampleTest {

    @Test
    void theExampleConsumerPrintsEveryEventOfABatchInOrderAndStopsAtItsCompletion() throws Exception {
        String run = UUID.randomUUID().toString();
        String batchId = given().contentType(ContentType.JSON).body("""
                {"external_id": "example-consumer", "defaults": {"size": "1024x1024", "quality": "low"}, "items": [
                  {"id": "MUG-1", "prompt": "Stoneware mug %1$s", "metadata": {"category": "kitchen"}},
                  {"id": "MUG-2", "prompt": "Enamel mug %1$s"},
                  {"id": "MUG-3", "prompt": "FORBIDDEN mug %1$s"}]}""".formatted(run))
                .post("/v1/batches").then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(60)).until(() -> "partially_failed".equals(
                given().get("/v1/batches/" + batchId).then().extract().path("state")));

        String classPath = String.join(File.pathSeparator, jarOf(KafkaConsumer.class), jarOf(org.slf4j.Logger.class));
        Path output = Path.of("target", "status-topic-example.txt");
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, "examples/StatusTopicConsumer.java", KilnStackResource.kafka().bootstrapServers(), batchId)
                .redirectOutput(output.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).as("it stops after the batch's completion").isTrue();
        assertThat(process.exitValue()).isZero();

        List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
        List<String> types = lines.stream().map(l -> l.substring(0, l.indexOf(' '))).toList();
        assertThat(types.getFirst()).isEqualTo("kiln.batch.created");
        assertThat(types.getLast()).isEqualTo("kiln.batch.completed");
        assertThat(types.stream().filter("kiln.job.queued"::equals)).hasSizeGreaterThanOrEqualTo(3);
        assertThat(types.stream().filter("kiln.job.succeeded"::equals)).hasSize(2);
        assertThat(types.stream().filter("kiln.job.failed"::equals)).hasSize(1);
        assertThat(lines.getFirst()).contains(" " + batchId + " ").contains("\"external_id\":\"example-consumer\"");
        assertThat(lines.stream().filter(l -> l.startsWith("kiln.job.failed")).findFirst().orElseThrow())
                .contains("\"code\":\"moderation_blocked\"").contains("\"item_id\":\"MUG-3\"");
        assertThat(lines.getLast()).contains("\"state\":\"partially_failed\"")
                .contains("\"manifest\":\"default/manifests/" + batchId + ".jsonl\"");
    }

    private static String jarOf(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
