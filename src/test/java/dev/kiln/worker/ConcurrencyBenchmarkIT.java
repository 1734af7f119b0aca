package dev.kiln.worker;

import dev.kiln.simulator.Latency;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.ProcessStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Issue 10's figures: at 300 IPM, whatever the latency (1 s, 12 s, 60 s), one worker or three use
 * the whole limit with Kiln's defaults (no {@code KILN_WORKER_MAX_IN_FLIGHT}, no concurrency
 * setting: each worker sizes its calls in flight from its share of the rate and the latency it
 * learns), and 500 calls in flight of 1536×1024 high-quality images fit in a 1 GiB heap.
 *
 * <p>Packaged processes (an api, a dispatcher, 1 or 3 workers) against the simulator over HTTP,
 * real Kafka and S3. The latencies are real wall-clock time: the simulator's time scale is left at
 * 1, because scaling the latency without the rate would shrink the calls in flight Little's law
 * asks for by the same factor, and scaling the rate with it (a 60 s render played in 3 s at 6,000
 * IPM) would ask this 2-core machine to render and store 100 images a second. Skipped by
 * {@code mvn verify}; run with {@code mvn verify -Pbench -Dit.test=ConcurrencyBenchmarkIT}. Each
 * run prints a {@code BENCHMARK} line and appends it to {@code target/concurrency-benchmark.md},
 * after a {@code TIMELINE} of the run every 5 s (where its time went). {@code -Dkiln.bench.latencies=12,60}
 * runs only those latencies' rows, {@code -Dkiln.bench.memory=false} leaves out the memory row.
 */
@Tag("benchmark")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConcurrencyBenchmarkIT {

    private static final int IPM = 300;
    private static final int BURST_SECONDS = 10;
    private static final int IMAGES = 600;
    private static final Map<String, Object> SMALL_LOW = Map.of("size", "1024x1024", "quality", "low");
    private static final List<String> JVM = List.of("-Xmx512m");
    private static final Path RESULTS = Path.of("target", "concurrency-benchmark.md");
    private static final Pattern OWNS = Pattern.compile("owns (\\d+) of (\\d+) kiln\\.jobs partitions");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** {@code -Dkiln.bench.latencies=12,60}: only the rows of those latencies, in seconds (all by default). */
    private static final String LATENCIES = System.getProperty("kiln.bench.latencies", "");
    /** {@code -Dkiln.bench.workers=3}: only the rows of that many workers (all by default). */
    private static final String WORKERS = System.getProperty("kiln.bench.workers", "");
    /** {@code -Dkiln.bench.memory=false} leaves out the 500-calls memory row. */
    private static final boolean MEMORY_ROW = Boolean.parseBoolean(System.getProperty("kiln.bench.memory", "true"));
    private static final Duration TIMELINE_STEP = Duration.ofSeconds(5);
    /** A real gpt-image-2 render of 1536×1024 at high quality, as PNG, is about 2 to 3 MB; the memory row pads to this. */
    private static final long REAL_HIGH_PNG_BYTES = 3_000_000;
    /** Jobs each worker takes through its path before a row ({@link #warmUp}). */
    private static final int WARM_UP_PER_WORKER = 20;
    /**
     * How often the sampler reads every worker's metrics: each read renders about 100 KB of
     * Prometheus text in the worker, so at 250 ms the sampler itself took a noticeable part of this
     * 2-core machine from the processes it measures.
     */
    private static final Duration SAMPLE_EVERY = Duration.ofSeconds(1);

    private static ProcessStack stack;

    @BeforeAll
    static void startStack() throws IOException {
        // The organisation's limit is set for every role, as a deployment would: the dispatcher sizes
        // its release window from it.
        stack = ProcessStack.start(Map.of("kiln.rate.ipm", Integer.toString(IPM)));
        // One small batch through the pipeline before anything is timed (the api, the dispatcher and
        // the simulator in this JVM are compiled while it runs); the workers measured are always fresh.
        configureSimulator(b -> b);
        stack.startWorkers(1, i -> "concurrency-warm-up", i -> Map.of(), JVM);
        stack.awaitFinished(stack.submit("warm-up", 100, SMALL_LOW), Duration.ofMinutes(2));
        stack.stopWorkers();
        Files.createDirectories(RESULTS.getParent());
        Files.writeString(RESULTS, "| Latency | Workers | Makespan | Bound | Utilisation | 429s | Rendered twice | Failed "
                + "| Peak in flight (simulator) | Peak target per worker | Peak jobs held per worker | Peak heap per worker, used / live (MiB) |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
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

    /**
     * 600 images of 1024×1024 at low quality, the simulator and the workers both at 300 IPM with a
     * 10 s burst (Kiln's default burst; the rate is the organisation's limit a user sets), the
     * simulator's low-quality latency at the given mean ± 10 %. Kiln's seed for low quality is
     * 20 s, so every case starts from a wrong guess and must learn.
     */
    @ParameterizedTest(name = "{0} ms, {1} workers")
    @CsvSource({"1000, 1", "1000, 3", "12000, 1", "12000, 3", "60000, 1", "60000, 3"})
    @Order(1)
    void theWholeLimitAtEveryLatency(long latencyMillis, int workerCount) {
        assumeTrue(selected(LATENCIES, Long.toString(latencyMillis / 1000)), "latency not in " + LATENCIES);
        assumeTrue(selected(WORKERS, Integer.toString(workerCount)), "worker count not in " + WORKERS);
        Latency latency = new Latency(latencyMillis, latencyMillis / 10);
        configureSimulator(b -> b.imagesPerMinute(IPM).burstSeconds(BURST_SECONDS).latencyLow(latency));
        List<KilnProcess> workers = stack.startWorkers(workerCount, i -> "concurrency-" + latencyMillis + "-" + workerCount + "w-" + i,
                i -> Map.of("kiln.rate.ipm", Integer.toString(IPM), "kiln.provider.api-key", "sk-concurrency-" + i), JVM);
        awaitPartitions(workers);
        warmUp(workerCount);
        stack.simulator().reset();

        Sampler sampler = new Sampler(workers);
        Thread sampling = Thread.ofVirtual().start(sampler);
        Instant start = Instant.now();
        String batch = stack.submit("concurrency-" + latencyMillis + "-" + workerCount, IMAGES, SMALL_LOW);
        Instant end = stack.awaitFinished(batch, Duration.ofMinutes(15));
        sampler.stop.set(true);
        join(sampling);

        List<ReceivedRequest> calls = stack.simulator().received().stream()
                .filter(r -> ProcessStack.itemOfPrompt(r.prompt()) != null).toList();
        System.out.println("TIMELINE " + latencyMillis + " ms, " + workerCount + " workers\n" + sampler.timeline(start, calls)
                + "longest from a permit to its call going out, per worker: " + sampler.peaks("kiln_rate_grant_to_sent_seconds_max", "%.3f s"));
        Map<String, Long> renders = calls.stream().filter(ReceivedRequest::accepted)
                .collect(Collectors.groupingBy(r -> ProcessStack.itemOfPrompt(r.prompt()), Collectors.counting()));
        long twice = renders.values().stream().mapToLong(n -> n - 1).sum();
        long limited = calls.stream().filter(r -> r.status() == 429).count();
        double limitedShare = calls.isEmpty() ? 0 : (double) limited / calls.size();
        double burstImages = IPM * BURST_SECONDS / 60.0;
        double bound = (IMAGES - burstImages) / IPM * 60 + latencyMillis / 1000.0;
        double makespan = seconds(start, end);
        int failed = stack.batch(batch).path("counts").path("failed").asInt();
        String heap = workers.stream().map(w -> heapText(w.heap())).collect(Collectors.joining("; "));
        report("| %.0f s ± 10 %% | %d | %.1f s | %.1f s | **%.1f %%** | %.2f %% of %d calls | %d | %d | %d | %s | %s | %s |".formatted(
                latencyMillis / 1000.0, workerCount, makespan, bound, bound / makespan * 100, limitedShare * 100, calls.size(),
                twice, failed, sampler.peakAtSimulator, sampler.peaks("kiln_worker_in_flight_target"),
                sampler.peaks("kiln_worker_jobs_held"), heap));

        assertThat(failed).isZero();
        assertThat(renders).hasSize(IMAGES);
        assertThat(twice).as("images rendered twice").isZero();
        assertThat(limitedShare).as("share of calls answered 429").isLessThanOrEqualTo(0.005);
        assertThat(bound / makespan).as("utilisation").isGreaterThanOrEqualTo(0.95);
    }

    /**
     * 500 calls in flight at once of 1536×1024 high-quality PNGs, in one worker with a 1 GiB heap:
     * a rate of 6,000 IPM (100 a second, a 10 s burst of 1,000) lets all 500 start within seconds,
     * and the simulator holds each for 40 s ± 5 s. Peak heap from the GC log, platform threads from
     * the worker's own {@code jvm_threads_peak_threads} (virtual threads are not platform threads).
     */
    @Test
    @Order(2)
    void fiveHundredHighQualityCallsInFlightFitInOneGibibyte() {
        assumeTrue(MEMORY_ROW, "kiln.bench.memory=false");
        int images = 500;
        // Placeholders padded to the size of a real high-quality 1536×1024 PNG (a few MB), so that the
        // answers, the decoding to disk and the uploads move real renders' bytes.
        configureSimulator(b -> b.latencyHigh(new Latency(40_000, 5_000)).minPngBytes(REAL_HIGH_PNG_BYTES));
        List<KilnProcess> workers = stack.startWorkers(1, i -> "concurrency-memory",
                i -> Map.of("kiln.rate.ipm", "6000", "kiln.provider.api-key", "sk-concurrency-memory"), List.of("-Xmx1g"));
        awaitPartitions(workers);
        stack.simulator().reset();
        Sampler sampler = new Sampler(workers);
        Thread sampling = Thread.ofVirtual().start(sampler);
        Instant start = Instant.now();
        String batch = stack.submit("memory", images, Map.of("size", "1536x1024", "quality", "high", "output_format", "png"));
        Instant end = stack.awaitFinished(batch, Duration.ofMinutes(10));
        sampler.stop.set(true);
        join(sampling);

        KilnProcess worker = workers.getFirst();
        KilnProcess.HeapFigures heap = worker.heap();
        long bytes = stack.objects(batch).entrySet().stream().filter(e -> !e.getKey().contains(".thumb."))
                .mapToLong(Map.Entry::getValue).max().orElse(0);
        int failed = stack.batch(batch).path("counts").path("failed").asInt();
        report("| 1536×1024 high PNG (%.1f MB each), 40 s ± 5 s, -Xmx1g | 1 | %.1f s | – | – | – | – | %d | **%d** | %s | %s | **%s**; platform threads: peak %s |"
                .formatted(bytes / 1e6, seconds(start, end), failed, sampler.peakAtSimulator,
                        sampler.peaks("kiln_worker_in_flight_target"), sampler.peaks("kiln_worker_jobs_held"), heapText(heap),
                        sampler.peaks("jvm_threads_peak_threads")));

        assertThat(worker.isAlive()).as("no OutOfMemoryError").isTrue();
        assertThat(worker.logText()).doesNotContain("OutOfMemoryError");
        assertThat(stack.batch(batch).path("counts").path("succeeded").asInt()).isEqualTo(images);
        assertThat(sampler.peakAtSimulator).as("calls in flight together").isGreaterThanOrEqualTo(images);
        assertThat(heap.peakUsedMib()).isPresent();
        assertThat(heap.peakUsedMib().getAsLong()).as("peak heap, MiB").isLessThan(1024);
    }

    /**
     * Samples the simulator's calls in progress and each worker's gauges, every {@link #SAMPLE_EVERY}, and keeps a
     * snapshot every {@link #TIMELINE_STEP} for the timeline: where a run's time goes.
     */
    private static final class Sampler implements Runnable {
        private static final List<String> GAUGES = List.of("kiln_worker_in_flight_target", "kiln_worker_jobs_held",
                "jvm_threads_peak_threads", "kiln_worker_in_flight", "kiln_worker_in_flight_waiting",
                "kiln_provider_images_permitted_total", "kiln_worker_call_latency_seconds", "kiln_rate_share",
                "kiln_rate_throttle", "kiln_rate_grant_to_sent_seconds_max");
        final AtomicBoolean stop = new AtomicBoolean();
        final List<KilnProcess> workers;
        final List<Map<String, Double>> peaks = new ArrayList<>();
        final List<Snapshot> snapshots = new ArrayList<>();
        volatile int peakAtSimulator;

        /** One moment of a run: the simulator's calls in progress, the dispatcher's window and each worker's gauges. */
        record Snapshot(Instant at, int atSimulator, Map<String, Double> dispatcher, List<Map<String, Double>> workers) {
        }

        Sampler(List<KilnProcess> workers) {
            this.workers = workers;
            workers.forEach(w -> peaks.add(new HashMap<>()));
        }

        @Override
        public void run() {
            SimulatorServer simulator = stack.simulator();
            Instant nextSnapshot = Instant.now();
            while (!stop.get()) {
                int atSimulator = simulator.inProgress().size();
                peakAtSimulator = Math.max(peakAtSimulator, atSimulator);
                List<Map<String, Double>> now = new ArrayList<>();
                for (int i = 0; i < workers.size(); i++) {
                    Map<String, Double> gauges = gauges(workers.get(i));
                    Map<String, Double> peak = peaks.get(i);
                    gauges.forEach((name, value) -> peak.merge(name, value, Math::max));
                    now.add(gauges);
                }
                if (!Instant.now().isBefore(nextSnapshot)) {
                    Map<String, Double> window = stack.dispatchers().isEmpty() ? Map.of() : gauges(stack.dispatchers().getFirst());
                    snapshots.add(new Snapshot(Instant.now(), atSimulator, window, now));
                    nextSnapshot = nextSnapshot.plus(TIMELINE_STEP);
                }
                ProcessStack.sleep(SAMPLE_EVERY);
            }
        }

        /**
         * Every {@link #TIMELINE_STEP}: calls that reached the simulator since the last line (429s
         * apart), calls in progress there, the dispatcher's window (target / released and not
         * started), and per worker: its target, slots in use, jobs waiting for a slot, jobs held,
         * images permitted since the last line, its planned latency, its rate share and throttle.
         */
        String timeline(Instant start, List<ReceivedRequest> calls) {
            StringBuilder text = new StringBuilder(
                    "   t | calls (429) | at sim | window tgt/unstarted | per worker: target slots waiting held permitted latency share throttle\n");
            Instant previous = start;
            List<Double> permittedBefore = new ArrayList<>(workers.stream().map(w -> 0.0).toList());
            for (Snapshot snapshot : snapshots) {
                Instant from = previous;
                long arrived = calls.stream().filter(r -> !r.receivedAt().isBefore(from) && r.receivedAt().isBefore(snapshot.at())).count();
                long limited = calls.stream().filter(r -> r.status() == 429
                        && !r.receivedAt().isBefore(from) && r.receivedAt().isBefore(snapshot.at())).count();
                text.append("%5.0f | %5d (%d) | %6d | %5s / %-5s |".formatted(seconds(start, snapshot.at()), arrived, limited,
                        snapshot.atSimulator(), figure(snapshot.dispatcher(), "kiln_dispatcher_window_target"),
                        figure(snapshot.dispatcher(), "kiln_dispatcher_window_unstarted")));
                for (int i = 0; i < snapshot.workers().size(); i++) {
                    Map<String, Double> g = snapshot.workers().get(i);
                    double permitted = g.getOrDefault("kiln_provider_images_permitted_total", permittedBefore.get(i));
                    text.append(" %s %s %s %s %3.0f %ss %s %s |".formatted(figure(g, "kiln_worker_in_flight_target"),
                            figure(g, "kiln_worker_in_flight"), figure(g, "kiln_worker_in_flight_waiting"),
                            figure(g, "kiln_worker_jobs_held"), permitted - permittedBefore.get(i),
                            figure(g, "kiln_worker_call_latency_seconds"), fraction(g, "kiln_rate_share"),
                            fraction(g, "kiln_rate_throttle")));
                    permittedBefore.set(i, permitted);
                }
                text.append('\n');
                previous = snapshot.at();
            }
            Instant last = previous;
            long after = calls.stream().filter(r -> !r.receivedAt().isBefore(last)).count();
            text.append("after the last line: %d calls; 429s at %s s (worker)%n".formatted(after, calls.stream().filter(r -> r.status() == 429)
                    .map(r -> "%.2f (%s)".formatted(seconds(start, r.receivedAt()), workerOf(r))).collect(Collectors.joining(", "))));
            text.append(firstSeconds(start, calls));
            return text.toString();
        }

        /**
         * The first 20 s second by second: calls that reached the simulator from each worker, and
         * each worker's running total against what its share of the rate and burst allows.
         */
        private static String firstSeconds(Instant start, List<ReceivedRequest> calls) {
            StringBuilder text = new StringBuilder("first seconds, calls per worker (429s):\n");
            for (int second = 0; second < 20; second++) {
                Instant from = start.plusSeconds(second);
                Instant to = from.plusSeconds(1);
                Map<String, Long> byWorker = new java.util.TreeMap<>(calls.stream()
                        .filter(r -> !r.receivedAt().isBefore(from) && r.receivedAt().isBefore(to))
                        .collect(Collectors.groupingBy(Sampler::workerOf, Collectors.counting())));
                Map<String, Long> limited = calls.stream()
                        .filter(r -> r.status() == 429 && !r.receivedAt().isBefore(from) && r.receivedAt().isBefore(to))
                        .collect(Collectors.groupingBy(Sampler::workerOf, Collectors.counting()));
                text.append("%4d s |".formatted(second));
                byWorker.forEach((worker, n) -> text.append(" %s: %d (%d)".formatted(worker, n, limited.getOrDefault(worker, 0L))));
                text.append('\n');
            }
            return text.toString();
        }

        /** The worker a call came from: its API key's last part. */
        private static String workerOf(ReceivedRequest call) {
            String key = call.apiKey() == null ? "?" : call.apiKey();
            return key.substring(key.lastIndexOf('-') + 1);
        }

        private static String figure(Map<String, Double> gauges, String name) {
            return gauges.containsKey(name) ? "%.0f".formatted(gauges.get(name)) : "?";
        }

        private static String fraction(Map<String, Double> gauges, String name) {
            return gauges.containsKey(name) ? "%.2f".formatted(gauges.get(name)) : "?";
        }

        String peaks(String gauge) {
            return peaks(gauge, "%.0f");
        }

        String peaks(String gauge, String format) {
            return peaks.stream().map(p -> p.containsKey(gauge) ? format.formatted(p.get(gauge)) : "?")
                    .collect(Collectors.joining(", "));
        }

        private static Map<String, Double> gauges(KilnProcess worker) {
            Map<String, Double> values = new HashMap<>();
            try {
                HttpResponse<String> metrics = HTTP.send(HttpRequest.newBuilder(URI.create(worker.url() + "/q/metrics"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                for (String line : metrics.body().split("\n")) {
                    for (String name : GAUGES) {
                        if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                            values.put(name, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
                        }
                    }
                    for (String name : List.of("kiln_dispatcher_window_target", "kiln_dispatcher_window_unstarted")) {
                        if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                            values.put(name, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // A sample missed under load; the next one counts.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return values;
        }
    }

    /**
     * Workers that have run before, as a service's do when a batch arrives: each first takes
     * {@value #WARM_UP_PER_WORKER} jobs of the row's kind through its whole path up to the provider's
     * answer (Kafka, S3 look-ups, slots, permits, the HTTP client, the status events), then the row
     * waits until its buckets have refilled. The prompts carry the simulator's moderation marker, so
     * every call is refused at once: nothing is rendered, and no latency is learned, so the row still
     * starts from the low-quality seed. Fresh workers spent their first seconds loading and compiling
     * that path (session 7: the first call reached the simulator 7 to 9 s after the POST with three of
     * them on this 2-core machine, against a bound that counts from the POST).
     */
    private static void warmUp(int workerCount) {
        String warmUp = stack.submit("warm-up-" + stack.simulator().settings().moderationMarker(), WARM_UP_PER_WORKER * workerCount,
                SMALL_LOW);
        stack.awaitFinished(warmUp, Duration.ofMinutes(2));
        ProcessStack.sleep(Duration.ofSeconds(BURST_SECONDS + 2));
    }

    /** Waits until the group has settled: every worker owns its equal part of kiln.jobs. */
    private static void awaitPartitions(List<KilnProcess> workers) {
        Instant deadline = Instant.now().plusSeconds(90);
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
        throw new IllegalStateException("the consumer group did not settle within 90 s");
    }

    private static void configureSimulator(UnaryOperator<SimulatorSettings.Builder> change) {
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

    /** Whether {@code value} is in the comma-separated {@code list}; an empty list selects everything. */
    private static boolean selected(String list, String value) {
        return list.isBlank() || List.of(list.split(",")).stream().map(String::trim).anyMatch(value::equals);
    }

    private static double seconds(Instant start, Instant end) {
        return Duration.between(start, end).toMillis() / 1000.0;
    }

    private static void join(Thread thread) {
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void report(String line) {
        System.out.println("BENCHMARK " + line);
        try {
            Files.writeString(RESULTS, line + "\n", StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
