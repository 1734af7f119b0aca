package dev.kiln.dispatch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.job.BatchCommand;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.EventTypes;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobIds;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import dev.kiln.simulator.Latency;
import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.testing.KilnProcess;
import dev.kiln.testing.KilnStackResource;
import dev.kiln.testing.ProcessStack;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Dispatcher processes of the packaged application under a rate limit: fairness behind a huge
 * backlog, and dispatchers killed with SIGKILL mid-batch, beside an api
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
    private static final int RATE_IPM = 600;
    private static final int IN_FLIGHT = 16;
    private static final Latency LATENCY = new Latency(400, 100);
    private static final Map<String, String> COMMON = Map.of(
            "kiln.rate.ipm", Integer.toString(RATE_IPM),
            "kiln.rate.burst", "PT2S",
            "kiln.dispatcher.session-timeout", "PT6S",
            "kiln.worker.max-in-flight", Integer.toString(IN_FLIGHT));
    private static final Duration START = Duration.ofSeconds(240);
    private static final Duration BATCH = Duration.ofMinutes(5);
    private static final String BACKLOG = "kiln_dispatcher_backlog_jobs";
    private static final String WINDOW_TARGET = "kiln_dispatcher_window_target";

    private static ProcessStack stack;

    @BeforeAll
    static void startStack() {
        stack = ProcessStack.start(COMMON);
        stack.simulator().update(stack.simulator().settings().toBuilder().latency(LATENCY).build());
        stack.startWorkers(1, i -> "dispatch-faults-worker", i -> Map.of(), List.of("-Xmx384m", "-XX:TieredStopAtLevel=1"));
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    /**
     * The fairness case, at a rate limit rather than a machine's speed: tenant A has 2,000
     * images pending; tenant B submits 20. B gets half the rate once the window released before it
     * has drained, so its batch ends within (window + in flight + 20 / ½) / r + one latency; first
     * in, first out would take (2,000 + 20) / r = 202 s.
     */
    @Test
    @Order(0)
    void aSmallBatchOfAnotherTenantEndsWithinItsFairShareOfTheRateBehind2000PendingImages() throws Exception {
        String a = stageForTenant("tenant-a", 2000);
        KilnProcess dispatcher = stack.dispatchers().getFirst();
        await().atMost(BATCH).until(() -> backlog(dispatcher) > 1500);
        ProcessStack.sleep(Duration.ofSeconds(3)); // A fills the window and the workers' slots first
        double window = metric(dispatcher, WINDOW_TARGET);

        Instant submitted = Instant.now();
        String b = stack.submit("fair-b", 20, SMALL_LOW);
        Instant ended = stack.awaitFinished(b, BATCH);
        double seconds = Duration.between(submitted, ended).toMillis() / 1000.0;

        // The rate r is what the provider received meanwhile: 600 IPM is the limit, but a loaded
        // 2-core machine may render fewer. The figure is computed from r either way.
        long rendered = stack.simulator().received().stream().filter(ReceivedRequest::accepted)
                .filter(r -> !r.receivedAt().isBefore(submitted) && !r.receivedAt().isAfter(ended)).count();
        double rate = Math.min(RATE_IPM / 60.0, rendered / seconds);
        double fair = (window + IN_FLIGHT + 20 / 0.5) / rate + LATENCY.meanMillis() / 1000.0;
        double fifo = (2000 + 20) / rate;
        System.out.printf("FAIRNESS | B's 20 images ended %.1f s after the POST behind 2,000 of A's, at %.1f images/s "
                + "(limit %.0f); fair share %.1f s (window %.0f, %d in flight); first in, first out %.0f s%n",
                seconds, rate, RATE_IPM / 60.0, fair, window, IN_FLIGHT, fifo);
        assertThat(seconds).as("B ended after %.1f s at %.1f images/s; fair share %.1f s; first in, first out %.0f s",
                seconds, rate, fair, fifo).isLessThan(fair * 1.25 + 2);
        assertThat(backlog(dispatcher)).as("A still has most of its backlog").isGreaterThan(1500);
        cancel(a, "tenant-a");
        await().atMost(BATCH).until(() -> backlog(dispatcher) == 0);
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
        return metric(dispatcher, BACKLOG);
    }

    /** A gauge without tags from the process's {@code /q/metrics}; 0 when absent or the process is dead. */
    private static double metric(KilnProcess process, String name) {
        if (!process.isAlive()) {
            return 0;
        }
        try {
            HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(process.url() + "/q/metrics")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? ([0-9.E+-]+)").matcher(metrics.body());
            return m.find() ? Double.parseDouble(m.group(1)) : 0;
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /** Stages a batch of {@code tenant} on kiln.items, as intake would for that tenant's key (the api runs without keys). */
    private static String stageForTenant(String tenant, int items) throws Exception {
        String batchId = JobIds.newBatchId();
        Instant now = Instant.now();
        ImageParameters low = new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, null, null);
        List<RenderJobRequested> jobs = IntStream.range(0, items).mapToObj(i -> new RenderJobRequested(
                JobIds.jobId(batchId, i), batchId, tenant, "A-" + i, i, "tenant a item " + i, low,
                List.of(), null, Map.<String, Object>of(), 1, now)).toList();
        try (KafkaProducer<String, byte[]> producer = producer()) {
            // The status view learns of the batch first, so that A's job events have a batch to land on.
            ProducerRecord<String, byte[]> created = new ProducerRecord<>(Topics.STATUS, batchId, KilnJson.MAPPER.writeValueAsBytes(
                    new BatchCreated(batchId, tenant, null, items, items, "staged by the test", null, now)));
            created.headers().add("ce_type", EventTypes.BATCH_CREATED.getBytes(StandardCharsets.UTF_8));
            producer.send(created).get();
            for (int from = 0; from < items; from += 500) {
                producer.send(new ProducerRecord<>(Topics.ITEMS, batchId, KilnJson.MAPPER.writeValueAsBytes(
                        new JobsStaged(batchId, tenant, Priority.NORMAL, null, jobs.subList(from, Math.min(items, from + 500)))))).get();
            }
        }
        return batchId;
    }

    private static void cancel(String batchId, String tenant) throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>(Topics.CONTROL, batchId,
                    KilnJson.MAPPER.writeValueAsBytes((BatchCommand) CancelRequested.batch(batchId, tenant, Instant.now())))).get();
        }
    }

    private static KafkaProducer<String, byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KilnStackResource.kafka().bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer());
    }
}
