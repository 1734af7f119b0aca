package dev.kiln.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.simulator.Latency;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.ProcessStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Several worker processes of the packaged application against one real broker, S3 server and
 * simulator: they share one rate limit, a crash loses nothing and pays for nothing twice beyond
 * the calls it cut off, and SIGTERM lets started renders finish and hands the rest over.
 */
class WorkerProcessesIT {

    private static final Map<String, Object> SMALL_LOW = Map.of("size", "1024x1024", "quality", "low");
    private static final List<String> JVM = List.of("-Xmx384m", "-XX:TieredStopAtLevel=1");
    private static final String KEY_A = "sk-worker-a";
    private static final String KEY_B = "sk-worker-b";

    private static ProcessStack stack;

    @BeforeAll
    static void startStack() {
        stack = ProcessStack.start();
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @AfterEach
    void stopWorkers() {
        stack.stopWorkers();
    }

    @Test
    void twoWorkerProcessesShareOneImagesPerMinuteLimitWithoutExceedingIt() {
        int ipm = 90;
        int burstSeconds = 4;
        int images = 40;
        configureSimulator(b -> b.imagesPerMinute(ipm).burstSeconds(burstSeconds).latency(new Latency(300, 0)));
        Map<String, String> limits = Map.of("kiln.rate.ipm", Integer.toString(ipm), "kiln.rate.burst", "PT" + burstSeconds + "S",
                "kiln.worker.max-in-flight", "8");
        List<KilnProcess> workers = stack.startWorkers(2, i -> "share-" + i, i -> withKey(limits, i == 0 ? KEY_A : KEY_B), JVM);
        // Both own half of kiln.jobs before any job exists, so each takes half of the limit.
        workers.forEach(w -> w.awaitLog("owns 6 of 12 kiln\\.jobs partitions", Duration.ofSeconds(60)));
        stack.simulator().reset();

        String batch = stack.submit("share", images, SMALL_LOW);
        stack.awaitFinished(batch, Duration.ofSeconds(120));

        assertThat(stack.batch(batch).path("counts").path("succeeded").asInt()).isEqualTo(images);
        List<ReceivedRequest> calls = generations(stack.simulator());
        Map<String, Long> rendersPerItem = rendersPerItem(calls);
        assertThat(rendersPerItem).hasSize(images).allSatisfy((item, renders) -> assertThat(renders).as(item).isEqualTo(1));
        long limited = calls.stream().filter(r -> r.status() == 429).count();
        assertThat(limited).as("429 answers").isLessThanOrEqualTo(2);
        assertThat(calls).as("both processes rendered").anyMatch(byKey(KEY_A)).anyMatch(byKey(KEY_B));
        assertWithinTokenBucket(calls, ipm, burstSeconds);
    }

    @Test
    void aWorkerKilledMidBatchLosesNothingAndOnlyTheCallsItCutOffAreRenderedAgain() {
        int images = 30;
        int maxInFlight = 4;
        configureSimulator(b -> b.latency(new Latency(1500, 300)));
        Map<String, String> config = Map.of("kiln.worker.max-in-flight", Integer.toString(maxInFlight));
        List<KilnProcess> workers = stack.startWorkers(2, i -> "crash-" + i, i -> withKey(config, i == 0 ? KEY_A : KEY_B), JVM);
        workers.forEach(w -> w.awaitLog("owns 6 of 12 kiln\\.jobs partitions", Duration.ofSeconds(60)));
        stack.simulator().reset();

        String batch = stack.submit("crash", images, SMALL_LOW);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                stack.batch(batch).path("counts").path("succeeded").asInt() >= 8
                        && stack.simulator().inProgress().stream().anyMatch(byKey(KEY_A)));
        workers.get(0).kill();
        Instant killedAt = Instant.now();
        Set<String> storedAtKill = itemsOf(stack.objects(batch).keySet());
        Set<String> calledByTheKilled = generations(stack.simulator()).stream()
                .filter(byKey(KEY_A)).map(r -> ProcessStack.itemOfPrompt(r.prompt())).collect(Collectors.toSet());
        stack.simulator().inProgress().stream().filter(byKey(KEY_A))
                .forEach(r -> calledByTheKilled.add(ProcessStack.itemOfPrompt(r.prompt())));
        Set<String> cutOff = new HashSet<>(calledByTheKilled);
        cutOff.removeAll(storedAtKill);

        stack.awaitFinished(batch, Duration.ofSeconds(90));

        assertEveryItemSucceededWithOneObject(batch, images);
        List<ReceivedRequest> calls = generations(stack.simulator());
        Map<String, Long> rendersPerItem = rendersPerItem(calls);
        Set<String> renderedTwice = rendersPerItem.entrySet().stream().filter(e -> e.getValue() > 1)
                .map(Map.Entry::getKey).collect(Collectors.toSet());
        assertThat(renderedTwice).as("only calls the kill cut off, before their images were stored, are paid twice")
                .isSubsetOf(cutOff);
        assertThat(cutOff).as("calls cut off by the kill").hasSizeLessThanOrEqualTo(maxInFlight);
        assertThat(rendersPerItem.values().stream().mapToLong(Long::longValue).sum())
                .isLessThanOrEqualTo(images + cutOff.size());
        assertThat(calls.stream().filter(r -> r.receivedAt().isAfter(killedAt))
                .map(r -> ProcessStack.itemOfPrompt(r.prompt())).filter(storedAtKill::contains).toList())
                .as("items stored before the kill are never rendered again").isEmpty();
    }

    @Test
    void sigtermLetsStartedRendersFinishAndTheOtherWorkerTakesOverWithoutRenderingTwice() {
        int images = 30;
        Duration deadline = Duration.ofSeconds(20);
        configureSimulator(b -> b.latency(new Latency(2000, 0)));
        Map<String, String> config = Map.of("kiln.worker.max-in-flight", "4",
                "kiln.worker.shutdown-deadline", deadline.toString());
        List<KilnProcess> workers = stack.startWorkers(2, i -> "sigterm-" + i, i -> withKey(config, i == 0 ? KEY_A : KEY_B), JVM);
        workers.forEach(w -> w.awaitLog("owns 6 of 12 kiln\\.jobs partitions", Duration.ofSeconds(60)));
        stack.simulator().reset();
        KilnProcess leaving = workers.get(0);

        String batch = stack.submit("sigterm", images, SMALL_LOW);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> stack.simulator().inProgress().stream().filter(byKey(KEY_A)).count() >= 2);
        Set<String> inFlight = stack.simulator().inProgress().stream().filter(byKey(KEY_A))
                .map(r -> ProcessStack.itemOfPrompt(r.prompt())).collect(Collectors.toSet());
        Instant signalled = Instant.now();
        leaving.terminate();

        assertThat(leaving.awaitExit(deadline)).as("exits before the deadline").isTrue();
        Instant exited = Instant.now();
        assertThat(leaving.logText()).contains("graceful shutdown: every started render has finished");
        stack.awaitFinished(batch, Duration.ofSeconds(90));

        assertEveryItemSucceededWithOneObject(batch, images);
        List<ReceivedRequest> calls = generations(stack.simulator());
        assertThat(rendersPerItem(calls)).as("no item rendered twice")
                .hasSize(images).allSatisfy((item, renders) -> assertThat(renders).as(item).isEqualTo(1));
        assertThat(calls.stream().filter(byKey(KEY_A)).filter(r -> r.status() != 200).toList())
                .as("every call of the leaving worker was answered, none cut off").isEmpty();
        assertThat(calls.stream().filter(byKey(KEY_A)).map(r -> ProcessStack.itemOfPrompt(r.prompt())).toList())
                .as("the renders in flight at SIGTERM were the leaving worker's to finish").containsAll(inFlight);
        assertThat(calls.stream().filter(byKey(KEY_A)).filter(r -> r.receivedAt().isAfter(signalled.plusMillis(500))).toList())
                .as("no call started after SIGTERM").isEmpty();
        assertThat(calls.stream().filter(byKey(KEY_B)).filter(r -> r.receivedAt().isAfter(exited)).count())
                .as("the other worker took over the rest").isPositive();
    }

    private static void assertEveryItemSucceededWithOneObject(String batch, int images) {
        List<JsonNode> items = stack.items(batch);
        assertThat(items).hasSize(images).allSatisfy(item -> {
            assertThat(item.path("state").asText()).as(item.path("item_id").asText()).isEqualTo("succeeded");
            assertThat(item.path("outputs")).hasSize(1);
        });
        Map<String, Long> objects = stack.objects(batch);
        assertThat(itemsOf(objects.keySet())).hasSize(images);
        assertThat(objects).hasSize(images).allSatisfy((key, bytes) -> assertThat(bytes).as(key).isPositive());
    }

    /**
     * Every run of calls, as the simulator received them, fits the organisation's token bucket:
     * at most {@code burst + rate × span} calls in any span (one call of slack for the time
     * between a worker taking its permit and the call arriving).
     */
    private static void assertWithinTokenBucket(List<ReceivedRequest> calls, int ipm, int burstSeconds) {
        List<Instant> times = calls.stream().map(ReceivedRequest::receivedAt).sorted().toList();
        double burst = ipm * burstSeconds / 60.0;
        for (int i = 0; i < times.size(); i++) {
            for (int j = i; j < times.size(); j++) {
                double span = Duration.between(times.get(i), times.get(j)).toMillis() / 1000.0;
                double allowed = burst + ipm / 60.0 * span + 1;
                assertThat((double) (j - i + 1)).as("calls from %s to %s (%.1f s)", times.get(i), times.get(j), span)
                        .isLessThanOrEqualTo(allowed);
            }
        }
        // The 60-second view of the same rule, as the provider states its limit.
        for (int i = 0; i < times.size(); i++) {
            int from = i;
            Instant end = times.get(i).plusSeconds(60);
            long inWindow = times.stream().filter(t -> !t.isBefore(times.get(from)) && !t.isAfter(end)).count();
            assertThat(inWindow).isLessThanOrEqualTo((long) (ipm + burst));
        }
    }

    private static Map<String, String> withKey(Map<String, String> config, String key) {
        Map<String, String> all = new HashMap<>(config);
        all.put("kiln.provider.api-key", key);
        return all;
    }

    private static void configureSimulator(java.util.function.UnaryOperator<SimulatorSettings.Builder> change) {
        SimulatorServer simulator = stack.simulator();
        SimulatorSettings base = SimulatorSettings.defaults().toBuilder().port(simulator.port()).build();
        simulator.update(change.apply(base.toBuilder()).build());
    }

    private static List<ReceivedRequest> generations(SimulatorServer simulator) {
        return simulator.received().stream().filter(r -> "generations".equals(r.endpoint()))
                .filter(r -> ProcessStack.itemOfPrompt(r.prompt()) != null).toList();
    }

    /** Images rendered (answered 200) per item. */
    private static Map<String, Long> rendersPerItem(List<ReceivedRequest> calls) {
        return calls.stream().filter(ReceivedRequest::accepted)
                .collect(Collectors.groupingBy(r -> ProcessStack.itemOfPrompt(r.prompt()), Collectors.counting()));
    }

    private static Predicate<ReceivedRequest> byKey(String key) {
        return r -> key.equals(r.apiKey());
    }

    /** {@code default/<batch>/<item>/0.png} to the item id. */
    private static Set<String> itemsOf(Set<String> keys) {
        return keys.stream().map(key -> key.split("/")[2]).collect(Collectors.toSet());
    }
}
