package dev.kiln.worker;

import dev.kiln.simulator.Fault;
import dev.kiln.simulator.Latency;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.ProcessStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How close Kiln's workers come to the provider's rate limit, and what they cost in memory, on
 * the packaged application against the simulator. Skipped by {@code mvn verify}; run with
 * {@code mvn verify -Pbench}. Each run prints one line of figures and appends it to
 * {@code target/benchmark-results.md}; then the targets are asserted.
 */
@Tag("benchmark")
class WorkerBenchmarkIT {

    private static final int IPM = 300;
    private static final int BURST_SECONDS = 10;
    private static final Latency LATENCY = new Latency(3000, 1000);
    private static final int IMAGES = 600;
    private static final Map<String, Object> SMALL_LOW = Map.of("size", "1024x1024", "quality", "low");
    private static final Map<String, String> RATED_WORKER = Map.of(
            "kiln.rate.ipm", Integer.toString(IPM),
            "kiln.rate.burst", "PT" + BURST_SECONDS + "S",
            // The limit times the latency (5/s × up to 4 s) must fit in flight, with room to spare.
            "kiln.worker.max-in-flight", "32",
            // Every change of the rate share, in the workers' logs under target/kiln-processes/.
            "quarkus.log.category.\"dev.kiln.provider\".level", "DEBUG");
    private static final List<String> THROUGHPUT_JVM = List.of("-Xmx512m");
    private static final Path RESULTS = Path.of("target", "benchmark-results.md");
    private static final Pattern OWNS = Pattern.compile("owns (\\d+) of (\\d+) kiln\\.jobs partitions");

    private static ProcessStack stack;

    @BeforeAll
    static void startStack() throws IOException {
        stack = ProcessStack.start();
        warmUp();
        Files.createDirectories(RESULTS.getParent());
        Files.writeString(RESULTS, "| Run | Makespan from the POST (from the 202) | Bound | Utilisation (from the 202) | 429s | Duplicates | Failed | Peak heap per worker (used / live, MiB) |\n"
                + "|---|---|---|---|---|---|---|---|\n");
    }

    /**
     * One small batch through the whole pipeline before anything is measured. The simulator (the
     * provider's stand-in, in this JVM) and the api process would otherwise be compiled while the
     * first run is timed: a cold simulator drawing its first thirty images at once stalled every
     * worker for three seconds. The workers measured are always fresh processes.
     */
    private static void warmUp() {
        configureSimulator(b -> b);
        stack.startWorkers(1, i -> "bench-warm-up", i -> Map.of(), THROUGHPUT_JVM);
        for (int round = 0; round < 3; round++) {
            stack.awaitFinished(stack.submit("warm-up-" + round, 100, SMALL_LOW), Duration.ofMinutes(2));
        }
        stack.stopWorkers();
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
    void oneWorkerUsesTheWholeLimit() {
        Figures figures = runThroughput("1 worker", 1, 0);
        assertTargets(figures);
    }

    @Test
    void threeWorkerProcessesShareTheLimitAndStillUseAllOfIt() {
        Figures figures = runThroughput("3 workers", 3, 0);
        assertTargets(figures);
    }

    @Test
    void fivePercentServerErrorsStillEndWithEveryImage() {
        Figures figures = runThroughput("3 workers, 5 % 5xx", 3, 0.05);
        assertThat(figures.failed()).isZero();
        assertThat(figures.duplicates()).isZero();
    }

    @Test
    void oneWorkerWith32UltraHdPngsInFlightStaysUnderOneGibibyteOfHeap() {
        int images = 40;
        configureSimulator(b -> b.latency(new Latency(20_000, 0)));
        List<KilnProcess> workers = stack.startWorkers(1, i -> "bench-memory", i -> Map.of("kiln.worker.max-in-flight", "32"),
                List.of("-Xmx1g"));
        awaitPartitions(workers);
        stack.simulator().reset();
        AtomicInteger peakInFlight = new AtomicInteger();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = Thread.ofVirtual().start(() -> {
            while (sampling.get()) {
                peakInFlight.accumulateAndGet(stack.simulator().inProgress().size(), Math::max);
                ProcessStack.sleep(Duration.ofMillis(100));
            }
        });
        Instant start = Instant.now();
        String batch = stack.submit("memory", images, Map.of("size", "3840x2160", "quality", "high", "output_format", "png"));
        Instant end = stack.awaitFinished(batch, Duration.ofMinutes(10));
        sampling.set(false);
        sampler.interrupt();

        KilnProcess.HeapFigures heap = workers.getFirst().heap();
        long bytes = stack.objects(batch).values().stream().mapToLong(Long::longValue).max().orElse(0);
        String line = "| 1 worker, -Xmx1g, %d × 3840×2160 PNG (%.1f MB each), %d in flight at once | %.0f s | – | – | – | – | %d | %s |"
                .formatted(images, bytes / 1e6, peakInFlight.get(), seconds(start, end),
                        stack.batch(batch).path("counts").path("failed").asInt(), heapText(heap));
        report(line);
        assertThat(workers.getFirst().isAlive()).as("no OutOfMemoryError").isTrue();
        assertThat(workers.getFirst().logText()).doesNotContain("OutOfMemoryError");
        assertThat(stack.batch(batch).path("counts").path("succeeded").asInt()).isEqualTo(images);
        assertThat(peakInFlight.get()).as("renders in flight together").isGreaterThanOrEqualTo(32);
        assertThat(heap.peakUsedMib()).isPresent();
        assertThat(heap.peakUsedMib().getAsLong()).as("peak heap, MiB").isLessThan(1024);
    }

    private Figures runThroughput(String name, int workerCount, double serverErrorRate) {
        configureSimulator(b -> b.imagesPerMinute(IPM).burstSeconds(BURST_SECONDS).latency(LATENCY)
                .faultRate(Fault.SERVER_ERROR, serverErrorRate));
        List<KilnProcess> workers = stack.startWorkers(workerCount, i -> "bench-" + workerCount + "w-" + i + "-"
                + (int) (serverErrorRate * 100), i -> withKey(RATED_WORKER, "sk-bench-" + i), THROUGHPUT_JVM);
        awaitPartitions(workers);
        stack.simulator().reset();

        Instant start = Instant.now();
        String batch = stack.submit("bench-" + name.replaceAll("\\W+", "-"), IMAGES, SMALL_LOW);
        Instant accepted = Instant.now();
        Instant end = stack.awaitFinished(batch, Duration.ofMinutes(10));

        List<ReceivedRequest> calls = stack.simulator().received().stream()
                .filter(r -> ProcessStack.itemOfPrompt(r.prompt()) != null).toList();
        Map<String, Long> renders = calls.stream().filter(ReceivedRequest::accepted)
                .collect(Collectors.groupingBy(r -> ProcessStack.itemOfPrompt(r.prompt()), Collectors.counting()));
        long duplicates = renders.values().stream().mapToLong(n -> n - 1).sum();
        long limited = calls.stream().filter(r -> r.status() == 429).count();
        double burstImages = IPM * BURST_SECONDS / 60.0;
        double bound = (IMAGES - burstImages) / IPM * 60 + LATENCY.meanMillis() / 1000.0;
        double makespan = seconds(start, end);
        Figures figures = new Figures(name, makespan, bound, bound / makespan, calls.size(),
                calls.isEmpty() ? 0 : (double) limited / calls.size(), duplicates,
                stack.batch(batch).path("counts").path("failed").asInt(), renders.size(),
                workers.stream().map(w -> heapText(w.heap())).collect(Collectors.joining("; ")));
        double fromAccepted = seconds(accepted, end);
        report("| %s | %.1f s (%.1f s after the 202) | %.1f s | %.1f %% (%.1f %%) | %.2f %% of %d calls | %d | %d | %s |".formatted(
                name, figures.makespan(), fromAccepted, figures.bound(), figures.utilisation() * 100,
                bound / fromAccepted * 100, figures.rateLimitedShare() * 100, figures.calls(),
                figures.duplicates(), figures.failed(), figures.heap()));
        diagnose(name, start, calls, workerCount);
        assertThat(figures.renderedItems()).isEqualTo(IMAGES);
        return figures;
    }

    /**
     * Where the time went: when the first call arrived, how many calls each second, and per
     * worker how many calls it made and when its last call arrived. Written next to the results.
     */
    private static void diagnose(String name, Instant start, List<ReceivedRequest> calls, int workerCount) {
        StringBuilder out = new StringBuilder("## " + name + "\n");
        calls.stream().map(ReceivedRequest::receivedAt).min(Instant::compareTo).ifPresent(first ->
                out.append("first call %.2f s after the POST%n".formatted(seconds(start, first))));
        for (int i = 0; i < workerCount; i++) {
            String key = "sk-bench-" + i;
            List<Instant> times = calls.stream().filter(r -> key.equals(r.apiKey())).map(ReceivedRequest::receivedAt).sorted().toList();
            if (!times.isEmpty()) {
                out.append("worker %d: %d calls, last at %.1f s%n".formatted(i, times.size(), seconds(start, times.getLast())));
            }
        }
        Map<Long, Long> perSecond = calls.stream().collect(Collectors.groupingBy(
                r -> Duration.between(start, r.receivedAt()).toSeconds(), java.util.TreeMap::new, Collectors.counting()));
        out.append("calls per second: ").append(perSecond).append("\n");
        try {
            Files.writeString(RESULTS.resolveSibling("benchmark-diagnostics.md"), out, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.println(out);
    }

    private static Map<String, String> withKey(Map<String, String> config, String key) {
        Map<String, String> all = new java.util.HashMap<>(config);
        all.put("kiln.provider.api-key", key);
        return all;
    }

    private static void assertTargets(Figures figures) {
        assertThat(figures.failed()).isZero();
        assertThat(figures.duplicates()).isZero();
        assertThat(figures.rateLimitedShare()).as("share of calls answered 429").isLessThanOrEqualTo(0.01);
        assertThat(figures.utilisation()).as("utilisation").isGreaterThanOrEqualTo(0.95);
    }

    /** Waits until the group has settled: every worker owns its equal part of kiln.jobs. */
    private static void awaitPartitions(List<KilnProcess> workers) {
        Instant deadline = Instant.now().plusSeconds(60);
        while (Instant.now().isBefore(deadline)) {
            List<Integer> owned = new ArrayList<>();
            for (KilnProcess worker : workers) {
                Matcher m = OWNS.matcher(worker.logText());
                int last = -1;
                while (m.find()) {
                    last = Integer.parseInt(m.group(1));
                }
                owned.add(last);
            }
            if (owned.stream().allMatch(n -> n == 12 / workers.size())) {
                return;
            }
            ProcessStack.sleep(Duration.ofMillis(200));
        }
        throw new IllegalStateException("the consumer group did not settle within 60 s");
    }

    private static void configureSimulator(java.util.function.UnaryOperator<SimulatorSettings.Builder> change) {
        SimulatorServer simulator = stack.simulator();
        SimulatorSettings base = SimulatorSettings.defaults().toBuilder().port(simulator.port()).build();
        simulator.update(change.apply(base.toBuilder()).build());
    }

    private static String heapText(KilnProcess.HeapFigures heap) {
        if (heap.collections() == 0) {
            return "no GC";
        }
        return heap.peakUsedMib().getAsLong() + " / " + heap.peakLiveMib().getAsLong();
    }

    private static double seconds(Instant start, Instant end) {
        return Duration.between(start, end).toMillis() / 1000.0;
    }

    private static void report(String line) {
        System.out.println("BENCHMARK " + line);
        try {
            Files.writeString(RESULTS, line + "\n", StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One throughput run.
     *
     * @param utilisation      bound / makespan
     * @param rateLimitedShare 429 answers / all calls
     * @param duplicates       renders beyond the first of each item
     */
    private record Figures(String name, double makespan, double bound, double utilisation, int calls,
                           double rateLimitedShare, long duplicates, int failed, int renderedItems, String heap) {
    }
}
