package dev.kiln.batch;

import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import dev.kiln.messaging.TransactionalPublisher;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.storage.ObjectStore;
import dev.kiln.tenant.PendingImages;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Intake throughput and heap (JUnit tag {@code benchmark}, {@code mvn verify -Pbench}): catalogues
 * of 10,000 and 100,000 items, as JSON and as NDJSON, posted from a file (so the client holds no
 * copy) to the application running every role (api, dispatcher, workers) on the embedded broker
 * and S3 server, as the local run does. Each batch is cancelled once accepted, and the next run
 * waits (untimed) until those cancels leave room in the tenant's pending images and the earlier
 * batches have ended (their results manifests are stored), so that no earlier batch's work is
 * counted in this one's time or heap. Throughput is items
 * over the time from the first byte sent to the 202. Heap is the live heap (after a full
 * collection) once every item has been read, planned and sent, just before the commit, when intake
 * holds the most it will, less the live heap before the request (the test's own JVM holds the
 * broker too, so only the difference means anything); that collection's time is not counted in
 * the throughput. Figures are printed as
 * {@code BENCH | intake ...} and appended to {@code target/benchmark-results.md}. Beside the wall
 * time it prints the CPU time the whole JVM (Kiln, broker, S3 server, this client) used during the
 * request, and the throughput that CPU time would allow on this machine's cores if they were idle:
 * on a machine shared with other work, the wall time says more about the others than about intake.
 */
@Tag("benchmark")
@QuarkusTest
@WithTestResource(KilnStackResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IntakeBenchmarkTest {

    /** The target, on this 2-core machine. */
    static final double TARGET_ITEMS_PER_SECOND = 20_000;
    private static final Pattern BATCH_ID = Pattern.compile("\"id\":\"(b_[^\"]+)\"");
    private static final List<String> RESULTS = new ArrayList<>();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Inject
    PendingImages pending;

    @Inject
    TransactionalPublisher transactions;

    @Inject
    ObjectStore store;

    /** Batches accepted and cancelled whose results manifest is not stored yet. */
    private static final List<String> settling = new ArrayList<>();

    record Run(String format, int items, double seconds, long heapGrowthBytes, double cpuSeconds) {
        double itemsPerSecond() {
            return items / seconds;
        }

        String line() {
            return "| %s | %,d | %.2f s | %,.0f items/s | +%,d MB | %.1f s | %,.0f items/s |".formatted(format, items, seconds,
                    itemsPerSecond(), heapGrowthBytes / (1024 * 1024), cpuSeconds, items / (cpuSeconds / CORES));
        }
    }

    private static final int CORES = Runtime.getRuntime().availableProcessors();
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    @Test
    @Order(1)
    void warmUp() throws Exception {
        run("ndjson", 5_000);
        run("json", 5_000);
    }

    @Test
    @Order(2)
    void ndjsonHeapDoesNotGrowWithTheCatalogue() throws Exception {
        Run small = record(run("ndjson", 10_000));
        Run large = record(run("ndjson", 100_000));
        assertThat(large.heapGrowthBytes())
                .as("NDJSON: heap growth at 100k items is within 64 MB of that at 10k")
                .isLessThan(small.heapGrowthBytes() + 64L * 1024 * 1024);
        assertThat(large.itemsPerSecond()).as("NDJSON items/s at 100k").isGreaterThanOrEqualTo(TARGET_ITEMS_PER_SECOND);
    }

    @Test
    @Order(3)
    void jsonHeapDoesNotGrowWithTheBatch() throws Exception {
        Run small = record(run("json", 10_000));
        Run large = record(run("json", 100_000));
        assertThat(large.heapGrowthBytes())
                .as("JSON: heap growth at 100k items is within 64 MB of that at 10k")
                .isLessThan(small.heapGrowthBytes() + 64L * 1024 * 1024);
        assertThat(large.itemsPerSecond()).as("JSON items/s at 100k").isGreaterThanOrEqualTo(TARGET_ITEMS_PER_SECOND);
    }

    @AfterAll
    static void write() throws IOException {
        Path file = Path.of("target", "benchmark-results.md");
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        Files.createDirectories(file.getParent());
        StringBuilder text = new StringBuilder("\n### Intake (" + java.time.Instant.now() + ", "
                + Runtime.getRuntime().availableProcessors() + " cores, -Xmx " + Runtime.getRuntime().maxMemory() / (1024 * 1024)
                + " MB, load average " + load + " at the end)\n"
                + "| format | items | accepted in | throughput | live heap growth | CPU of the JVM | items per CPU-second x cores |\n"
                + "|---|---|---|---|---|---|---|\n");
        RESULTS.forEach(line -> text.append(line).append('\n'));
        Files.writeString(file, text, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static Run record(Run run) {
        System.out.println("BENCH | intake " + run.line());
        RESULTS.add(run.line());
        return run;
    }

    private Run run(String format, int items) throws Exception {
        Path body = Files.createTempFile("intake-bench-", "." + format);
        try {
            writeCatalogue(body, format, items);
            // The earlier runs' cancels must have taken hold, or this batch would pass the tenant's
            // max_pending_images (100,000) and get 429; the wait is not timed.
            await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> pending.pendingImages("default") + items <= 100_000);
            // A cancelled batch ends with its results manifest, which the api writes in memory (a
            // 100,000-item one took some 100 MB while it was built): measured during the next
            // request, that was counted as intake's heap. So each run also waits (untimed) until the
            // earlier batches' manifests are stored, and with them their events folded into the view.
            await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> {
                        settling.removeIf(batchId -> store.stat(ObjectKeys.manifest("default", batchId)).isPresent());
                        return settling.isEmpty();
                    });
            long before = liveHeapAfterGc();
            // Once every item is read, planned and sent, just before the commit, intake holds the
            // most it will: the live heap then, after a full collection (whose time is not counted).
            AtomicLong atCommit = new AtomicLong();
            AtomicLong gcNanos = new AtomicLong();
            transactions.beforeCommit(id -> {
                long gcStart = System.nanoTime();
                atCommit.set(liveHeapAfterGc());
                gcNanos.set(System.nanoTime() - gcStart);
            });
            long start = System.nanoTime();
            long cpuAtStart = OS.getProcessCpuTime();
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + RestAssured.port + "/v1/batches"))
                    .header("Content-Type", format.equals("json") ? "application/json" : "application/x-ndjson")
                    .header("Idempotency-Key", "bench-" + UUID.randomUUID())
                    .timeout(Duration.ofMinutes(5))
                    .POST(HttpRequest.BodyPublishers.ofFile(body)).build(), HttpResponse.BodyHandlers.ofString());
            double seconds = (System.nanoTime() - start - gcNanos.get()) / 1e9;
            transactions.beforeCommit(null);
            double cpuSeconds = (OS.getProcessCpuTime() - cpuAtStart) / 1e9;
            assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
            Matcher id = BATCH_ID.matcher(response.body());
            assertThat(id.find()).isTrue();
            // The 202 waits a bounded while for this replica's status view to show the batch; behind
            // an earlier batch's 100,000 events on a loaded machine it may not yet, and a cancel is 404 until it does.
            await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> given().post("/v1/batches/" + id.group(1) + "/cancel").statusCode() == 202);
            settling.add(id.group(1));
            return new Run(format, items, seconds, Math.max(0, atCommit.get() - before), cpuSeconds);
        } finally {
            Files.deleteIfExists(body);
        }
    }

    private static void writeCatalogue(Path file, String format, int items) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            boolean json = format.equals("json");
            out.write(json ? "{\"defaults\": {\"quality\": \"low\", \"size\": \"1024x1024\"}, \"priority\": \"bulk\", \"items\": [\n"
                    : "{\"batch\": {\"defaults\": {\"quality\": \"low\", \"size\": \"1024x1024\"}, \"priority\": \"bulk\"}}\n");
            for (int i = 0; i < items; i++) {
                out.write("{\"id\": \"SKU-" + i + "\", \"prompt\": \"studio photo of product " + i
                        + ", a ceramic mug on a white background\", \"metadata\": {\"row\": " + i + "}}");
                out.write(json && i < items - 1 ? ",\n" : "\n");
            }
            if (json) {
                out.write("]}\n");
            }
        }
    }

    /** Used heap after a full collection: what is live. */
    private static long liveHeapAfterGc() {
        System.gc();
        return usedHeap();
    }

    private static long usedHeap() {
        long used = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                used += pool.getUsage().getUsed();
            }
        }
        return used;
    }
}
