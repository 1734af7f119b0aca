package dev.kiln.economy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.simulator.ReceivedBatchRequest;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.ProcessStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The economy lane across a real crash: a worker process of the packaged application is killed
 * (SIGKILL) while its provider batch runs at the simulator's Batch API, and the same instance
 * ({@code KILN_INSTANCE_ID}) started again reattaches to that batch from
 * {@code kiln.provider-batches}, polls it to the end and stores its results, without creating a
 * provider batch or sending a line again. Tagged {@code faults}: it starts four JVMs.
 */
@Tag("faults")
class EconomyLaneRestartIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> JVM = List.of("-Xmx384m", "-XX:TieredStopAtLevel=1");
    private static final Pattern SUBMITTED = Pattern.compile("economy lane: (\\d+) jobs in provider batch (\\S+) ");
    private static final int ITEMS = 6;

    private static ProcessStack stack;

    @BeforeAll
    static void startStack() {
        stack = ProcessStack.start(Map.of("kiln.economy.collect-window", "PT1S", "kiln.economy.poll-interval", "PT1S"));
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void aWorkerKilledWhileItsProviderBatchRunsReattachesOnRestartWithoutSubmittingAgain() throws Exception {
        SimulatorServer simulator = stack.simulator();
        // Long enough for the kill and the restart to land while the provider batch is still open.
        simulator.update(simulator.settings().withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", "40s"));
        KilnProcess worker = stack.startWorkers(1, i -> "lane", i -> Map.of(), JVM).get(0);
        long syncRendersBefore = simulator.renderCount() - simulator.batchRenderCount();

        String batchId = submitEconomy("lane-restart");
        // Every job handed to a provider batch (the lane may have split them over collect windows).
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .until(() -> submitted(worker.logText()).values().stream().mapToInt(Integer::intValue).sum() >= ITEMS);
        Map<String, Integer> providerBatches = submitted(worker.logText());
        long createdAtKill = simulator.batchCount();
        for (String providerBatch : providerBatches.keySet()) {
            assertThat(providerStatus(providerBatch)).as("provider batch %s at the kill", providerBatch)
                    .isIn("validating", "in_progress");
        }

        worker.kill();
        assertThat(worker.awaitExit(Duration.ofSeconds(30))).as("the killed worker exited").isTrue();
        KilnProcess restarted = stack.restartWorker("lane", "lane-restarted", Map.of(), JVM);
        restarted.awaitReady(Duration.ofSeconds(180));
        restarted.awaitLog("economy lane: reattached to " + providerBatches.size() + " open provider batch", Duration.ofSeconds(60));

        stack.awaitFinished(batchId, Duration.ofSeconds(180));
        JsonNode batch = stack.batch(batchId);
        assertThat(batch.path("state").asText()).isEqualTo("succeeded");
        assertThat(batch.path("counts").path("succeeded").asInt()).isEqualTo(ITEMS);
        assertThat(simulator.batchCount()).as("provider batches created: none after the kill").isEqualTo(createdAtKill);
        assertThat(submitted(restarted.logText())).as("the restarted worker submitted nothing").isEmpty();
        Map<String, Long> lines = simulator.receivedBatchRequests().stream()
                .filter(line -> line.customId().startsWith(batchId + "-"))
                .collect(Collectors.groupingBy(ReceivedBatchRequest::customId, Collectors.counting()));
        assertThat(lines).as("one batch line per job").hasSize(ITEMS).allSatisfy((job, count) -> assertThat(count).as(job).isEqualTo(1));
        assertThat(simulator.renderCount() - simulator.batchRenderCount()).as("no synchronous call")
                .isEqualTo(syncRendersBefore);
        for (String providerBatch : providerBatches.keySet()) {
            assertThat(providerStatus(providerBatch)).isEqualTo("completed");
        }
        assertThat(stack.objects(batchId)).hasSize(ITEMS);
        System.out.printf("economy lane restart: %d provider batch(es) open at SIGKILL, reattached by the restarted worker; "
                + "%d lines for %d jobs, no provider batch created after the kill%n", providerBatches.size(), lines.size(), ITEMS);
    }

    /** The provider batches a worker's log says it created, with how many jobs each. */
    private static Map<String, Integer> submitted(String log) {
        Map<String, Integer> batches = new java.util.LinkedHashMap<>();
        Matcher matcher = SUBMITTED.matcher(log);
        while (matcher.find()) {
            batches.put(matcher.group(2), Integer.parseInt(matcher.group(1)));
        }
        return batches;
    }

    private static String submitEconomy(String tag) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        body.put("lane", "economy");
        body.putObject("defaults").put("size", "1024x1024").put("quality", "low");
        ArrayNode items = body.putArray("items");
        for (int i = 0; i < ITEMS; i++) {
            items.addObject().put("id", ProcessStack.itemId(i)).put("prompt", stack.prompt(tag, ProcessStack.itemId(i)));
        }
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(stack.api().url() + "/v1/batches")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        return JSON.readTree(response.body()).path("id").asText();
    }

    private static String providerStatus(String providerBatch) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(stack.simulator().baseUrl() + "/batches/" + providerBatch))
                .header("Authorization", "Bearer " + KilnStackResource.PROVIDER_API_KEY).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(response.body()).path("status").asText();
    }
}
