package dev.kiln.worker;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.kiln.messaging.Topics;
import dev.kiln.provider.RenderPermits;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.testing.KilnStackResource;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.ConfigProvider;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.stream.Collectors;

import static io.restassured.RestAssured.given;

/**
 * Waits for the phases of an end-to-end run on the real stack and, when one does not come, says
 * why: what the batches count, what the worker holds and plans (gauges, the fetch gate), what the
 * simulator holds, whether the broker answers and what sits in {@code kiln.jobs}, whether virtual
 * threads still get a carrier, and a thread dump on disk. A phase also fails early when nothing
 * reaches the simulator for a while, so that a stalled pipeline is reported as one instead of as
 * a slow phase.
 */
final class PipelineProbe {

    private final MeterRegistry registry;
    private final FetchGate gate;
    private final InFlightJobs jobs;
    private final InFlightLimiter limiter;
    private final RenderPermits permits;
    private final SimulatorServer simulator;
    private final IntSupplier callsOfTest;
    private final Instant start = Instant.now();
    private final List<String> batches = new java.util.concurrent.CopyOnWriteArrayList<>();

    PipelineProbe(MeterRegistry registry, FetchGate gate, InFlightJobs jobs, InFlightLimiter limiter, RenderPermits permits,
                  SimulatorServer simulator, IntSupplier callsOfTest) {
        this.registry = registry;
        this.gate = gate;
        this.jobs = jobs;
        this.limiter = limiter;
        this.permits = permits;
        this.simulator = simulator;
        this.callsOfTest = callsOfTest;
    }

    /** A batch whose counts the diagnostics show. */
    void watch(String batchId) {
        batches.add(batchId);
    }

    /**
     * Waits until {@code done}, checking every 100 ms; fails with the diagnostics after
     * {@code atMost}, or as soon as {@code progress} (calls that reached the simulator) has not
     * moved for {@code stalledAfter}.
     */
    void await(String phase, Duration atMost, Duration stalledAfter, IntSupplier progress, BooleanSupplier done) {
        long deadline = System.nanoTime() + atMost.toNanos();
        int lastProgress = progress.getAsInt();
        long lastMove = System.nanoTime();
        while (!done.getAsBoolean()) {
            long now = System.nanoTime();
            int current = progress.getAsInt();
            if (current != lastProgress) {
                lastProgress = current;
                lastMove = now;
            }
            if (now - lastMove > stalledAfter.toNanos()) {
                throw new AssertionError("STALLED while waiting for: " + phase + ": no call reached the simulator for "
                        + stalledAfter.toSeconds() + " s (" + current + " so far)\n" + describe());
            }
            if (now > deadline) {
                throw new AssertionError("TIMED OUT after " + atMost.toSeconds() + " s waiting for: " + phase
                        + " (" + current + " calls so far)\n" + describe());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for: " + phase);
            }
        }
    }

    /** Fails with the diagnostics unless the broker the stack started answers and Kiln points at it. */
    void requireBroker() {
        String answer = brokerAnswer();
        if (!answer.startsWith("answers")) {
            throw new AssertionError("the test broker does not answer before the test starts\n" + describe());
        }
    }

    /** Everything the diagnostics know, one fact a line. */
    String describe() {
        StringBuilder out = new StringBuilder("---- pipeline diagnostics, " + seconds() + " s into the test ----\n");
        for (String batch : batches) {
            line(out, "batch " + batch, () -> given().get("/v1/batches/" + batch).then().extract().asString());
        }
        line(out, "worker", () -> String.format("target %.0f, slots in use %d, waiting for a slot %d, jobs held %d, after their call %d,"
                        + " polled and queued in SmallRye %d; fetch gate %s, %d without a slot against a fetch-ahead of %d"
                        + " (at most %d records polled after a pause was asked for);"
                        + " permits granted %d images, share %.2f",
                gauge("kiln.worker.in.flight.target"), limiter.inUse(), limiter.waiting(), jobs.inHand(), jobs.afterCall(),
                gate.queued(), gate.isPaused() ? "PAUSED" : "open", gate.withoutSlot(), gate.ahead(), gate.worstOvershoot(),
                permits.imagesGranted(),
                permits.share()));
        line(out, "meters", this::kilnMeters);
        line(out, "simulator", () -> String.format("%d calls received in all (%d for this test), %d in progress now, %d answered 429",
                simulator.received().size(), callsOfTest.getAsInt(), simulator.inProgress().size(), simulator.rateLimitedCount()));
        line(out, "broker", this::brokerAnswer);
        line(out, "kiln.jobs", this::jobsTopic);
        line(out, "virtual threads", PipelineProbe::virtualThreadsAnswer);
        line(out, "thread dump", PipelineProbe::threadDump);
        return out.append("---- end of diagnostics ----").toString();
    }

    private String seconds() {
        return String.format("%.1f", Duration.between(start, Instant.now()).toMillis() / 1000.0);
    }

    private double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    private String kilnMeters() {
        return registry.getMeters().stream()
                .filter(m -> m.getId().getName().startsWith("kiln.dispatcher") || m.getId().getName().startsWith("kiln.worker.jobs")
                        || m.getId().getName().startsWith("kiln.worker.oldest"))
                .sorted(Comparator.comparing(m -> m.getId().toString()))
                .map(m -> m.getId().getName() + m.getId().getTags().stream().map(t -> t.getKey() + "=" + t.getValue())
                        .collect(Collectors.joining(",", "{", "}")) + "=" + first(m))
                .collect(Collectors.joining("; "));
    }

    private static String first(Meter meter) {
        for (var measurement : meter.measure()) {
            return String.format("%.1f", measurement.getValue());
        }
        return "?";
    }

    /** Whether the stack's broker answers, and whether Kiln is configured with it. */
    private String brokerAnswer() {
        String stack = KilnStackResource.bootstrapServers();
        String kiln = ConfigProvider.getConfig().getOptionalValue("kafka.bootstrap.servers", String.class).orElse("(not set)");
        try (Admin admin = admin()) {
            int nodes = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
            return "answers at " + stack + " (" + nodes + " node)" + (stack.equals(kiln) ? "" : "; BUT KILN IS CONFIGURED WITH " + kiln);
        } catch (Exception e) {
            return "DOES NOT ANSWER at " + stack + " within 5 s (Kiln is configured with " + kiln + "): " + e;
        }
    }

    /** Jobs released into kiln.jobs and how far the workers' group has committed. */
    private String jobsTopic() throws Exception {
        try (Admin admin = admin()) {
            List<TopicPartition> partitions = admin.describeTopics(List.of(Topics.JOBS)).allTopicNames().get(5, TimeUnit.SECONDS)
                    .get(Topics.JOBS).partitions().stream().map(p -> new TopicPartition(Topics.JOBS, p.partition())).toList();
            Map<TopicPartition, OffsetSpec> latest = new LinkedHashMap<>();
            partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            long released = admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS).values().stream()
                    .mapToLong(o -> o.offset()).sum();
            String group = ConfigProvider.getConfig().getValue("mp.messaging.incoming.jobs.group.id", String.class);
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
            long done = committed.entrySet().stream().filter(e -> e.getKey().topic().equals(Topics.JOBS) && e.getValue() != null)
                    .mapToLong(e -> e.getValue().offset()).sum();
            String members = admin.describeConsumerGroups(List.of(group)).all().get(5, TimeUnit.SECONDS).get(group).members().stream()
                    .map(m -> m.consumerId() + " owns " + m.assignment().topicPartitions().stream()
                            .filter(tp -> tp.topic().equals(Topics.JOBS)).count())
                    .collect(Collectors.joining(", "));
            return released + " records in " + partitions.size() + " partitions, group " + group + " committed " + done
                    + " of them; members: " + (members.isEmpty() ? "none" : members);
        }
    }

    private static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000));
    }

    /** Whether a new virtual thread gets a carrier: every job of the worker runs on one. */
    private static String virtualThreadsAnswer() throws InterruptedException {
        CountDownLatch ran = new CountDownLatch(1);
        long started = System.nanoTime();
        Thread.ofVirtual().start(ran::countDown);
        if (!ran.await(5, TimeUnit.SECONDS)) {
            return "a new virtual thread did NOT RUN within 5 s: the carriers are busy or pinned";
        }
        return "a new virtual thread ran within " + (System.nanoTime() - started) / 1_000_000 + " ms";
    }

    /** Writes every thread, virtual ones included, to a file, and sums up what the virtual threads do. */
    private static String threadDump() throws IOException {
        Path dir = Path.of("target", "diagnostics");
        Files.createDirectories(dir);
        Path file = dir.resolve("threads-" + System.currentTimeMillis() + ".txt").toAbsolutePath();
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
        Map<String, Integer> topFrames = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(file);
        int virtual = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("#") && lines.get(i).contains(" virtual")) {
                virtual++;
                String where = i + 1 < lines.size() ? lines.get(i + 1).trim() : "?";
                String caller = i + 3 < lines.size() ? lines.get(i + 3).trim() : "?";
                topFrames.merge(where + " <- " + caller, 1, Integer::sum);
            }
        }
        String busiest = topFrames.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(6)
                .map(e -> e.getValue() + " × " + e.getKey()).collect(Collectors.joining("\n      "));
        return "written to " + file + "; " + virtual + " virtual threads, most often at:\n      " + busiest;
    }

    private interface Fact {
        String get() throws Exception;
    }

    private static void line(StringBuilder out, String what, Fact fact) {
        String value;
        try {
            value = fact.get();
        } catch (Exception | AssertionError e) {
            value = "could not tell: " + e;
        }
        out.append("  ").append(what).append(": ").append(value).append('\n');
    }
}
