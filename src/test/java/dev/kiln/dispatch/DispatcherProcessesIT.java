package dev.kiln.dispatch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.messaging.Topics;
import dev.kiln.simulator.Latency;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.ProcessStack;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Dispatcher processes of the packaged application killed with SIGKILL mid-batch, beside an api
 * process and a worker process, on the real broker, S3 server and simulator. Each case checks that
 * every item succeeded, that the provider saw each item once, and that {@code kiln.jobs} holds
 * each job once (read committed): nothing lost, nothing released twice. In the fault suite
 * ({@code mvn verify -Pfaults}): each case waits out Kafka's session timeout.
 */
@Tag("faults")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DispatcherProcessesIT {

    private static final Map<String, Object> SMALL_LOW = Map.of("size", "1024x1024", "quality", "low");
    /**
     * 600 IPM (10 images a second) keeps the window at a few dozen jobs, so that most of a batch
     * is pending in the dispatcher when it is killed; the broker's smallest session timeout (6 s)
     * moves the task within seconds.
     */
    private static final Map<String, String> COMMON = Map.of(
            "kiln.rate.ipm", "600",
            "kiln.rate.burst", "PT2S",
            "kiln.dispatcher.session-timeout", "PT6S",
            "kiln.worker.max-in-flight", "16");
    private static final Duration START = Duration.ofSeconds(120);
    private static final Duration BATCH = Duration.ofMinutes(5);
    private static final Pattern BACKLOG = Pattern.compile("(?m)^kiln_dispatcher_backlog_jobs(?:\\{[^}]*})? ([0-9.E+-]+)");

    private static ProcessStack stack;

    @BeforeAll
    static void startStack() {
        stack = ProcessStack.start(COMMON);
        stack.simulator().update(stack.simulator().settings().toBuilder().latency(new Latency(400, 100)).build());
        stack.startWorkers(1, i -> "dispatch-faults-worker", i -> Map.of(), List.of("-Xmx384m", "-XX:TieredStopAtLevel=1"));
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    @Order(1)
    void aDispatcherKilledMidBatchAndRestartedLosesNothingAndReleasesNothingTwice() {
        int items = 200;
        String batch = stack.submit("dispatcher-kill", items, SMALL_LOW);
        await().atMost(BATCH).until(() -> succeeded(batch) >= 30);
        KilnProcess only = stack.dispatchers().getFirst();
        assertThat(backlog(only)).as("killed while most of the batch is pending in it").isGreaterThan(50);

        only.kill();
        int atKill = succeeded(batch);
        // Nothing is released while no dispatcher runs: the workers finish the window and stop.
        ProcessStack.sleep(Duration.ofSeconds(8));
        int whileDown = succeeded(batch);
        assertThat(whileDown - atKill).as("only the released window ends while the dispatcher is down").isLessThan(80);
        assertThat(whileDown).isLessThan(items);

        // The same instance comes back over its state folder; the session of the killed one ends first.
        stack.startDispatcher("dispatcher", Map.of()).awaitReady(START);
        stack.awaitFinished(batch, BATCH);
        assertEachItemRenderedAndReleasedOnce(batch, "dispatcher-kill", items);
    }

    @Test
    @Order(2)
    void withTwoDispatchersTheWorkGoesOnWhenTheActiveOneDiesAndWhenTheStandbyDies() {
        stack.startDispatcher("dispatcher-b", Map.of()).awaitReady(START);
        List<KilnProcess> alive = stack.dispatchers().stream().filter(KilnProcess::isAlive).toList();
        assertThat(alive).hasSize(2);

        int items = 250;
        String first = stack.submit("dispatcher-failover", items, SMALL_LOW);
        await().atMost(BATCH).until(() -> succeeded(first) >= 30);
        KilnProcess active = await().atMost(Duration.ofSeconds(30))
                .until(() -> alive.stream().filter(d -> backlog(d) > 0).findFirst().orElse(null), d -> d != null);
        KilnProcess standby = alive.stream().filter(d -> d != active).findFirst().orElseThrow();
        assertThat(backlog(standby)).as("a standby reports no backlog").isZero();

        active.kill();
        // No restart: the standby takes the task over after the session timeout and finishes the batch.
        stack.awaitFinished(first, BATCH);
        assertEachItemRenderedAndReleasedOnce(first, "dispatcher-failover", items);
        assertThat(standby.logText()).contains("dispatcher task started with");

        // A new standby joins; this time the standby dies mid-batch, and the active one carries on.
        KilnProcess third = stack.startDispatcher("dispatcher-c", Map.of()).awaitReady(START);
        String second = stack.submit("dispatcher-standby-dies", items, SMALL_LOW);
        await().atMost(BATCH).until(() -> succeeded(second) >= 30);
        KilnProcess nowActive = backlog(standby) > 0 ? standby : third;
        (nowActive == standby ? third : standby).kill();
        stack.awaitFinished(second, BATCH);
        assertEachItemRenderedAndReleasedOnce(second, "dispatcher-standby-dies", items);
    }

    private static void assertEachItemRenderedAndReleasedOnce(String batch, String tag, int items) {
        JsonNode view = stack.batch(batch);
        assertThat(view.path("state").asText()).isEqualTo("succeeded");
        assertThat(view.path("counts").path("succeeded").asInt()).isEqualTo(items);
        assertThat(stack.objects(batch)).hasSize(items);

        Map<String, Long> calls = stack.simulator().received().stream().filter(ReceivedRequest::accepted)
                .filter(r -> r.prompt() != null && r.prompt().contains(" " + tag + " product "))
                .collect(Collectors.groupingBy(r -> ProcessStack.itemOfPrompt(r.prompt()), Collectors.counting()));
        assertThat(calls).as("the provider saw every item").hasSize(items);
        assertThat(calls.values()).as("and none twice").allMatch(n -> n == 1);

        Map<String, Integer> releases = releasesOf(batch);
        assertThat(releases).as("kiln.jobs holds every job").hasSize(items);
        assertThat(releases.entrySet()).as("and none twice").allMatch(e -> e.getValue() == 1);
    }

    /** Records on {@code kiln.jobs} per job id of the batch, as a read_committed consumer sees them. */
    private static Map<String, Integer> releasesOf(String batch) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Integer> counts = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.JOBS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.key() != null && record.key().startsWith(batch)) {
                        counts.merge(record.key(), 1, Integer::sum);
                    }
                }
            }
        }
        return counts;
    }

    private static int succeeded(String batch) {
        return stack.batch(batch).path("counts").path("succeeded").asInt();
    }

    /** The jobs a dispatcher process holds pending, from its {@code /q/metrics}; 0 for a standby or a dead one. */
    private static double backlog(KilnProcess dispatcher) {
        if (!dispatcher.isAlive()) {
            return 0;
        }
        try {
            HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(dispatcher.url() + "/q/metrics")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            Matcher m = BACKLOG.matcher(metrics.body());
            return m.find() ? Double.parseDouble(m.group(1)) : 0;
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }
}
