package dev.kiln.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.messaging.Topics;
import dev.kiln.simulator.Fault;
import dev.kiln.simulator.Latency;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.simulator.SimulatorServer;
import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.ProcessStack;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The fault suite (JUnit tag {@code faults}): a batch of {@value #IMAGES} images per case through
 * the packaged application (an api process and two worker processes) on the real broker, a real S3
 * server in its own process and the simulator, while the test kills, hangs or restarts one of
 * them. Durations are scaled down where the behaviour does not depend on them (a refused S3 is
 * waited out the same way for one minute as for three). Each case checks that every item ends in
 * a final state, that no object is uploaded twice, that nothing is rendered twice except calls a
 * kill cut off, that nothing reaches the dead-letter topic, and that the batch ends within a minute
 * of the fault's end; the figures are printed as {@code FAULTS | ...} and written to
 * {@code target/faults-results.md}.
 */
@Tag("faults")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultsIT {

    static final int IMAGES = 200;
    private static final Map<String, Object> SMALL_LOW = Map.of("size", "1024x1024", "quality", "low");
    private static final List<String> JVM = List.of("-Xmx384m", "-XX:TieredStopAtLevel=1");
    private static final Duration FINISH = Duration.ofMinutes(4);
    private static final Pattern PUT = Pattern.compile("\\{PUT@\\S+ http://[^/]+/kiln/(\\S+) HTTP");
    private static final String[] KEYS = {"sk-faults-w0", "sk-faults-w1"};

    /** Every process: short timeouts and retry delays, so that a case takes seconds, not minutes. */
    private static final Map<String, String> COMMON = Map.ofEntries(
            Map.entry("kiln.topics.retry-topics", "kiln.jobs.retry_1000,kiln.jobs.retry_2000,kiln.jobs.retry_4000"),
            Map.entry("kiln.worker.max-attempts", "3"),
            Map.entry("kiln.worker.max-in-flight", "8"),
            Map.entry("kiln.worker.storage-backoff.initial", "PT0.2S"),
            Map.entry("kiln.worker.storage-backoff.max", "PT2S"),
            Map.entry("kiln.s3.connect-timeout", "PT2S"),
            Map.entry("kiln.s3.read-timeout", "PT3S"),
            Map.entry("kiln.s3.write-timeout", "PT3S"),
            Map.entry("kiln.s3.call-timeout", "PT20S"),
            Map.entry("kiln.s3.health-interval", "PT1S"),
            Map.entry("kiln.kafka.probe-interval", "PT1S"),
            Map.entry("kiln.kafka.probe-timeout", "PT1S"),
            // Production's takeover settings, so that the kill case measures what production gets.
            Map.entry("mp.messaging.incoming.jobs.session.timeout.ms", "10000"),
            Map.entry("mp.messaging.incoming.jobs.heartbeat.interval.ms", "3000"));

    private static final List<String> FIGURES = new ArrayList<>();
    private static ProcessStack stack;
    private static final KilnProcess[] workers = new KilnProcess[2];
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void startStack() {
        KilnStackResource.logS3Requests = true;
        stack = ProcessStack.start(COMMON);
        for (int i = 0; i < 2; i++) {
            workers[i] = stack.startWorker("faults-w" + i, Map.of("kiln.provider.api-key", KEYS[i]), JVM);
        }
        for (KilnProcess worker : workers) {
            worker.awaitReady(Duration.ofSeconds(90)).awaitLog("owns 6 of 12 kiln\\.jobs partitions", Duration.ofSeconds(60));
        }
    }

    @AfterAll
    static void stopStack() throws IOException {
        KilnStackResource.logS3Requests = false;
        if (stack != null) {
            stack.close();
        }
        if (!FIGURES.isEmpty()) {
            List<String> table = new ArrayList<>(List.of(
                    "| Case | Fault | Batch of " + IMAGES + ": start to end | Fault end to batch end | Renders (repeats) | Uploads per key (max) | Other |",
                    "|---|---|---|---|---|---|---|"));
            table.addAll(FIGURES);
            Files.createDirectories(Path.of("target"));
            Files.write(Path.of("target", "faults-results.md"), table);
            table.forEach(line -> System.out.println("FAULTS | " + line));
        }
    }

    @Test
    @Order(1)
    void s3RefusedForAMinuteThenBack() {
        Case c = start("s3-refused", new Latency(600, 200), 30);
        KilnStackResource.s3().kill();
        Instant faultStart = Instant.now();
        await().atMost(Duration.ofSeconds(15)).until(() -> notReady(workers[0]) && notReady(stack.api()));
        sleepUntil(faultStart.plusSeconds(60));
        KilnStackResource.restartS3();
        c.faultEnded(faultStart, "S3 SIGKILLed, refused 60 s (issue: 3 min), restarted on its port");
        await().atMost(Duration.ofSeconds(15)).until(() -> !notReady(workers[0]));
        c.finishAndCheck(true, Set.of(), "readiness DOWN during the outage, UP after");
    }

    @Test
    @Order(2)
    void s3HungForThirtySeconds() {
        Case c = start("s3-hung", new Latency(600, 200), 30);
        KilnStackResource.s3().suspend();
        Instant faultStart = Instant.now();
        await().atMost(Duration.ofSeconds(20)).until(() -> notReady(workers[0]));
        sleepUntil(faultStart.plusSeconds(30));
        KilnStackResource.s3().resume();
        c.faultEnded(faultStart, "S3 SIGSTOPped 30 s (issue: 60 s), then SIGCONT");
        c.finishAndCheck(true, Set.of(), "readiness DOWN during the stall");
    }

    @Test
    @Order(3)
    void s3RefusedForFiveSecondsThreeTimes() {
        Case c = start("s3-blips", new Latency(600, 200), 20);
        Instant faultStart = Instant.now();
        for (int i = 0; i < 3; i++) {
            KilnStackResource.s3().kill();
            sleep(Duration.ofSeconds(5));
            KilnStackResource.restartS3();
            sleep(Duration.ofSeconds(3));
        }
        c.faultEnded(faultStart, "S3 SIGKILLed for 5 s, three times, 3 s apart");
        c.finishAndCheck(true, Set.of(), "");
    }

    @Test
    @Order(4)
    void aWorkerKilledThreeTimesDuringOneBatch() {
        Case c = start("kills", new Latency(3000, 500), 10);
        Instant faultStart = Instant.now();
        Set<String> cutOff = new HashSet<>();
        List<String> takeovers = new ArrayList<>();
        int[] killAt = {10, 50, 90};
        for (int round = 0; round < killAt.length; round++) {
            int threshold = killAt[round];
            await().atMost(FINISH).until(() -> c.succeeded() >= threshold
                    && stack.simulator().inProgress().stream().anyMatch(byKey(KEYS[0])));
            workers[0].kill();
            Instant killed = Instant.now();
            // Cut off by the kill: every call of the killed worker whose images were not stored
            // yet, whether still in progress or answered and not yet uploaded.
            Set<String> stored = stack.objects(c.batch).keySet().stream().map(key -> key.split("/")[2]).collect(Collectors.toSet());
            stack.simulator().inProgress().stream().filter(byKey(KEYS[0]))
                    .forEach(r -> cutOff.add(ProcessStack.itemOfPrompt(r.prompt())));
            stack.simulator().received().stream().filter(byKey(KEYS[0])).map(r -> ProcessStack.itemOfPrompt(r.prompt()))
                    .filter(item -> item != null && !stored.contains(item)).forEach(cutOff::add);
            Instant restarted = Instant.now();
            workers[0] = stack.restartWorker("faults-w0", "faults-w0-restart" + round, Map.of("kiln.provider.api-key", KEYS[0]), JVM);
            workers[0].awaitReady(Duration.ofSeconds(90));
            Instant ready = Instant.now();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> callsSince(restarted).isPresent()
                    || c.succeeded() == IMAGES);
            Instant firstCall = callsSince(restarted).orElse(null);
            if (firstCall == null) {
                takeovers.add("kill %d: restarted worker ready %.1f s after the kill; the other worker had finished the batch"
                        .formatted(round + 1, seconds(killed, ready)));
                continue;
            }
            takeovers.add("kill %d: restarted worker ready %.1f s after the kill, its first call %.1f s after the kill (%.1f s after ready)".formatted(
                    round + 1, seconds(killed, ready), seconds(killed, firstCall), seconds(ready, firstCall)));
        }
        c.faultEnded(faultStart, "kill -9 of a worker process, 3 times, each restarted under its instance id");
        takeovers.forEach(t -> System.out.println("FAULTS | takeover | " + t));
        c.finishAndCheck(true, cutOff, String.join("; ", takeovers) + "; calls cut off by the kills: " + cutOff.size());
    }

    @Test
    @Order(5)
    void theBrokerStoppedForThirtySecondsThenStarted() {
        Case c = start("broker", new Latency(600, 200), 30);
        KilnStackResource.stopKafka();
        Instant faultStart = Instant.now();
        await().atMost(Duration.ofSeconds(20)).until(() -> notReady(workers[0]) && notReady(stack.api()));
        sleepUntil(faultStart.plusSeconds(30));
        KilnStackResource.startKafkaAgain();
        c.faultEnded(faultStart, "broker stopped 30 s, started again on its port and data");
        await().atMost(Duration.ofSeconds(30)).until(() -> !notReady(workers[0]) && !notReady(stack.api()));
        c.finishAndCheck(true, Set.of(), "readiness DOWN during the outage, UP after");
    }

    @Test
    @Order(6)
    void theProviderFailingHalfItsCallsForThirtySeconds() {
        Case c = start("5xx", new Latency(600, 200), 10);
        configureSimulator(b -> b.latency(new Latency(600, 200)).faultRate(Fault.SERVER_ERROR, 0.5));
        Instant faultStart = Instant.now();
        sleepUntil(faultStart.plusSeconds(30));
        configureSimulator(b -> b.latency(new Latency(600, 200)));
        c.faultEnded(faultStart, "provider answers 50 % HTTP 500 for 30 s (issue: a minute)");
        c.finishAndCheck(false, Set.of(), "");
    }

    private Case start(String tag, Latency latency, int progressBeforeFault) {
        configureSimulator(b -> b.latency(latency));
        stack.simulator().reset();
        Case c = new Case(tag, stack.submit(tag, IMAGES, SMALL_LOW), Instant.now());
        await().atMost(FINISH).until(() -> c.succeeded() >= progressBeforeFault);
        return c;
    }

    /** One batch under one fault. */
    private static final class Case {
        final String tag;
        final String batch;
        final Instant submitted;
        Instant faultStart;
        Instant faultEnd;
        String fault;

        Case(String tag, String batch, Instant submitted) {
            this.tag = tag;
            this.batch = batch;
            this.submitted = submitted;
        }

        int succeeded() {
            return stack.batch(batch).path("counts").path("succeeded").asInt();
        }

        void faultEnded(Instant start, String description) {
            faultStart = start;
            faultEnd = Instant.now();
            fault = description;
        }

        void finishAndCheck(boolean allSucceed, Set<String> cutOff, String other) {
            Instant done = stack.awaitFinished(batch, FINISH);
            List<JsonNode> items = stack.items(batch);
            assertThat(items).hasSize(IMAGES);
            Map<String, Long> states = items.stream().collect(Collectors.groupingBy(i -> i.path("state").asText(), Collectors.counting()));
            assertThat(states.keySet()).as("every item final: %s", states).allMatch(s -> s.equals("succeeded") || s.equals("failed"));
            if (allSucceed) {
                assertThat(states).as("all succeeded").containsOnlyKeys("succeeded");
            } else {
                assertThat(items.stream().filter(i -> i.path("state").asText().equals("failed")))
                        .as("items out of attempts fail with the provider's reason")
                        .allSatisfy(i -> assertThat(i.path("error").path("message").asText()).contains("HTTP 500"));
            }
            Map<String, Long> renders = stack.simulator().received().stream()
                    .filter(r -> "generations".equals(r.endpoint()) && r.accepted() && r.prompt() != null
                            && r.prompt().contains(" " + tag + " product "))
                    .collect(Collectors.groupingBy(r -> ProcessStack.itemOfPrompt(r.prompt()), Collectors.counting()));
            Set<String> twice = renders.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey)
                    .collect(Collectors.toSet());
            assertThat(twice).as("rendered twice, beyond calls a kill cut off").isSubsetOf(cutOff);
            Map<String, List<Integer>> puts = putsPerKey(batch);
            int maxPuts = puts.values().stream().mapToInt(List::size).max().orElse(0);
            long succeeded = states.getOrDefault("succeeded", 0L);
            assertThat(puts).as("one stored object per succeeded item").hasSize((int) succeeded);
            assertThat(puts).as("no object written twice: at most one upload per key to each life of the S3 server")
                    .allSatisfy((key, lives) -> assertThat(lives).as(key).doesNotHaveDuplicates());
            long resent = puts.values().stream().filter(lives -> lives.size() > 1).count();
            if (resent > 0) {
                other = (other.isEmpty() ? "" : other + "; ") + resent + " upload(s) cut off by an S3 kill and sent again to the restarted server";
            }
            assertThat(deadLetters(batch)).as("nothing reaches the dead-letter topic").isZero();
            double afterFault = seconds(faultEnd, done);
            assertThat(afterFault).as("the batch ends within a minute of the fault's end").isLessThan(60);
            long repeats = renders.values().stream().mapToLong(n -> n - 1).sum();
            String row = "| %s | %s | %.1f s | %.1f s | %d (%d) | %d | %s%s |".formatted(tag, fault, seconds(submitted, done),
                    afterFault, renders.values().stream().mapToLong(Long::longValue).sum(), repeats, maxPuts,
                    states.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).sorted().collect(Collectors.joining(", ")),
                    other.isEmpty() ? "" : "; " + other);
            FIGURES.add(row);
            System.out.println("FAULTS | " + row);
        }
    }

    /** When the worker with the first key made its first call (in progress or answered) after {@code since}. */
    private static java.util.Optional<Instant> callsSince(Instant since) {
        return java.util.stream.Stream.concat(stack.simulator().received().stream(), stack.simulator().inProgress().stream())
                .filter(byKey(KEYS[0])).map(ReceivedRequest::receivedAt).filter(t -> t.isAfter(since)).min(Instant::compareTo);
    }

    private static boolean notReady(KilnProcess process) {
        try {
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create(process.url() + "/q/health/ready"))
                    .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 503;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * PUT requests the S3 server received per object key of the batch and per life of the server
     * (each start begins a new one): an upload cut off by an S3 kill never completed, and is sent
     * again to the next server only when that server does not have the object.
     */
    private static Map<String, List<Integer>> putsPerKey(String batch) {
        Map<String, List<Integer>> puts = new HashMap<>();
        int life = 0;
        try {
            for (String line : Files.readAllLines(KilnStackResource.s3().log())) {
                if (line.contains("Found logback-core version")) {
                    life++;
                }
                Matcher m = PUT.matcher(line);
                if (m.find() && m.group(1).startsWith("default/" + batch + "/")) {
                    puts.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(life);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return puts;
    }

    private static long deadLetters(String batch) {
        Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "faults-dlq-" + System.nanoTime(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        long found = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(Topics.JOBS_DLQ));
            Instant end = Instant.now().plusSeconds(5);
            while (Instant.now().isBefore(end)) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.key() != null && record.key().startsWith(batch)) {
                        found++;
                    }
                }
            }
        }
        return found;
    }

    private static void configureSimulator(java.util.function.UnaryOperator<SimulatorSettings.Builder> change) {
        SimulatorServer simulator = stack.simulator();
        SimulatorSettings base = SimulatorSettings.defaults().toBuilder().port(simulator.port()).build();
        simulator.update(change.apply(base.toBuilder()).build());
    }

    private static Predicate<ReceivedRequest> byKey(String key) {
        return r -> key.equals(r.apiKey());
    }

    private static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toMillis() / 1000.0;
    }

    private static void sleepUntil(Instant when) {
        Duration left = Duration.between(Instant.now(), when);
        if (!left.isNegative()) {
            sleep(left);
        }
    }

    private static void sleep(Duration d) {
        ProcessStack.sleep(d);
    }
}
