package dev.kiln.dispatch;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.BatchDeleted;
import dev.kiln.job.EventTypes;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RenderKey;
import dev.kiln.job.Usage;
import dev.kiln.messaging.JsonSerde;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.RenderJobRequestedDeserializer;
import dev.kiln.messaging.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.test.TestRecord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * The dispatcher's real topology on {@link TopologyTestDriver}, with the wall clock, the window
 * target and the workers' starts under the test's control.
 */
final class DispatchHarness implements AutoCloseable {

    static final String APPLICATION_ID = "kiln-dispatcher-test";
    static final Instant START = Instant.parse("2026-11-21T10:00:00Z");
    static final Duration TICK = Duration.ofMillis(200);
    static final DispatchTopology.Settings SETTINGS = new DispatchTopology.Settings(TICK, 10, 500,
            Duration.ofDays(30), Duration.ofMinutes(10), 0);

    final AtomicInteger target = new AtomicInteger(1000);
    final UnstartedJobs unstarted = new UnstartedJobs(Duration.ofMinutes(10).toMillis());
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final TopologyTestDriver driver;
    private final TestInputTopic<String, Object> items;
    private final TestInputTopic<String, Object> control;
    private final TestInputTopic<String, Object> statusIn;
    private final TestOutputTopic<String, RenderJobRequested> jobs;
    private final TestOutputTopic<String, byte[]> status;
    private final Duration tick;
    private Instant now;

    DispatchHarness(Path stateDir, TenantWeights weights) {
        this(stateDir, weights, Stores::persistentKeyValueStore, START);
    }

    DispatchHarness(Path stateDir, TenantWeights weights, Function<String, KeyValueBytesStoreSupplier> stores, Instant start) {
        this(stateDir, weights, stores, start, SETTINGS);
    }

    /** With other settings, e.g. an organisation rate for the tenants' caps. */
    DispatchHarness(Path stateDir, TenantWeights weights, DispatchTopology.Settings settings) {
        this(stateDir, weights, Stores::persistentKeyValueStore, START, settings);
    }

    private DispatchHarness(Path stateDir, TenantWeights weights, Function<String, KeyValueBytesStoreSupplier> stores,
                            Instant start, DispatchTopology.Settings settings) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        ReleaseGate gate = new ReleaseGate(target::get, unstarted);
        driver = new TopologyTestDriver(DispatchTopology.build(settings, weights, gate, new DispatchMetrics(registry), stores),
                props, start);
        now = start;
        tick = settings.tick();
        JsonSerde.JsonSerializer json = new JsonSerde.JsonSerializer();
        items = driver.createInputTopic(Topics.ITEMS, Serdes.String().serializer(), json);
        control = driver.createInputTopic(Topics.CONTROL, Serdes.String().serializer(), json);
        statusIn = driver.createInputTopic(Topics.STATUS, Serdes.String().serializer(), json);
        jobs = driver.createOutputTopic(Topics.JOBS, Serdes.String().deserializer(), new RenderJobRequestedDeserializer());
        status = driver.createOutputTopic(Topics.STATUS, Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    /** A job of {@code batchId} at {@code index} asking for {@code n} images. */
    static RenderJobRequested job(String batchId, String tenant, int index, int n) {
        ImageParameters parameters = new ImageParameters("gpt-image-2", "1024x1024", "low", null, "png", null, null, n, null);
        return new RenderJobRequested(batchId + "-" + String.format("%06d", index), batchId, tenant, "SKU-" + index, index,
                "a terracotta mug", parameters, List.of(), null, Map.of(), 1, START);
    }

    /** Stages a batch of {@code count} jobs of {@code n} images, in one chunk. */
    JobsStaged stage(String batchId, String tenant, Priority priority, Instant deadline, int count, int n) {
        return stage(batchId, tenant, priority, deadline, IntStream.range(0, count).mapToObj(i -> job(batchId, tenant, i, n)).toList());
    }

    JobsStaged stage(String batchId, String tenant, Priority priority, Instant deadline, List<RenderJobRequested> chunk) {
        JobsStaged staged = new JobsStaged(batchId, tenant, priority, deadline, chunk);
        items.pipeInput(batchId, staged, now);
        return staged;
    }

    /** Stages a batch of {@code count} one-image jobs with a budget, each reserving {@code jobCost}. */
    JobsStaged stageWithBudget(String batchId, String tenant, int count, double budget, double jobCost) {
        JobsStaged staged = new JobsStaged(batchId, tenant, Priority.NORMAL, null,
                IntStream.range(0, count).mapToObj(i -> job(batchId, tenant, i, 1)).toList(), budget, jobCost);
        items.pipeInput(batchId, staged, now);
        return staged;
    }

    /** A worker published {@code job}'s final event: {@code state}, costing {@code costUsd}. */
    void ended(RenderJobRequested job, JobState state, double costUsd) {
        Usage usage = state == JobState.SUCCEEDED ? new Usage(1, 10, 0, 196, costUsd) : null;
        JobStatusChanged event = new JobStatusChanged(job.jobId(), job.batchId(), job.tenant(), job.itemId(), job.index(),
                state, job.attempt(), null, null, usage, now);
        org.apache.kafka.common.header.Headers headers = CloudEventHeaders.of(job.jobId() + "/" + state.wireName(),
                event.eventType(), job.jobId(), now);
        statusIn.pipeInput(new TestRecord<>(job.batchId(), event, headers, now));
    }

    /**
     * A worker rendered {@code job} afresh and recorded it in its tenant's render cache: its
     * {@code succeeded} event names the render key, and for an edit the digests of its references
     * and mask ({@code sha256ByReference}), as the worker computes them.
     */
    void rendered(RenderJobRequested job, double costUsd, Map<String, String> sha256ByReference) {
        List<String> references = job.referenceImages() == null ? List.of() : job.referenceImages();
        RenderKey key = RenderKey.of(job, references.stream().map(sha256ByReference::get).toList(),
                job.mask() == null ? null : sha256ByReference.get(job.mask()));
        JobStatusChanged event = new JobStatusChanged(job.jobId(), job.batchId(), job.tenant(), job.itemId(), job.index(),
                JobState.SUCCEEDED, job.attempt(), null, null, new Usage(1, 10, 0, 196, costUsd), now)
                .withRenderKey(key, sha256ByReference);
        statusIn.pipeInput(new TestRecord<>(job.batchId(), event,
                CloudEventHeaders.of(job.jobId() + "/succeeded", event.eventType(), job.jobId(), now), now));
    }

    /** A generation rendered afresh, as {@link #rendered(RenderJobRequested, double, Map)}. */
    void rendered(RenderJobRequested job, double costUsd) {
        rendered(job, costUsd, Map.of());
    }

    /** The render cache served {@code job}: cached, at zero cost, with no render key. */
    void servedFromCache(RenderJobRequested job) {
        JobStatusChanged event = new JobStatusChanged(job.jobId(), job.batchId(), job.tenant(), job.itemId(), job.index(),
                JobState.SUCCEEDED, job.attempt(), null, null, Usage.servedFromCache(job.imageCount()), now).withCached();
        statusIn.pipeInput(new TestRecord<>(job.batchId(), event,
                CloudEventHeaders.of(job.jobId() + "/succeeded", event.eventType(), job.jobId(), now), now));
    }

    /** {@code tenant} deleted {@code batchId}: the event on {@code kiln.status}. */
    void deleted(String batchId, String tenant) {
        BatchDeleted event = new BatchDeleted(batchId, tenant, BatchDeleted.BY_TENANT, now);
        statusIn.pipeInput(new TestRecord<>(batchId, event,
                CloudEventHeaders.of(batchId + "/deleted", EventTypes.BATCH_DELETED, batchId, now), now));
    }

    /** Stages a chunk as intake writes it. */
    JobsStaged stage(JobsStaged staged) {
        items.pipeInput(staged.batchId(), staged, now);
        return staged;
    }

    /** Stages {@code chunk} as a batch with a budget, each job reserving {@code jobCost}. */
    JobsStaged stageWithBudget(String batchId, String tenant, List<RenderJobRequested> chunk, double budget, double jobCost) {
        JobsStaged staged = new JobsStaged(batchId, tenant, Priority.NORMAL, null, chunk, budget, jobCost);
        items.pipeInput(batchId, staged, now);
        return staged;
    }

    /** A one-image generation of {@code batchId} at {@code index} with its own prompt. */
    static RenderJobRequested job(String batchId, String tenant, int index, String prompt) {
        ImageParameters parameters = new ImageParameters("gpt-image-2", "1024x1024", "low", null, "png", null, null, 1, null);
        return new RenderJobRequested(batchId + "-" + String.format("%06d", index), batchId, tenant, "SKU-" + index, index,
                prompt, parameters, List.of(), null, Map.of(), 1, START);
    }

    void command(BatchCommand command) {
        control.pipeInput(command.batchId(), command, now);
    }

    /** Lets wall-clock time pass, tick by tick. */
    void advance(Duration duration) {
        long ticks = duration.toMillis() / tick.toMillis();
        for (long i = 0; i < ticks; i++) {
            now = now.plus(tick);
            driver.advanceWallClockTime(tick);
        }
    }

    /** One tick. */
    void tick() {
        advance(tick);
    }

    Instant now() {
        return now;
    }

    /** Jobs released since the last call, with their headers. */
    List<TestRecord<String, RenderJobRequested>> released() {
        return jobs.readRecordsToList();
    }

    /** The jobs of {@code records}, without their headers. */
    static List<RenderJobRequested> jobs(List<TestRecord<String, RenderJobRequested>> records) {
        return records.stream().map(TestRecord::value).toList();
    }

    /** The {@code cancelled} / {@code budget_exceeded} events among the status events published since the last call. */
    List<JobStatusChanged> budgetStops() {
        return statusEvents().stream().map(TestRecord::value)
                .filter(e -> e.state() == JobState.CANCELLED && e.error() != null && "budget_exceeded".equals(e.error().code()))
                .toList();
    }

    /** Status events published since the last call, with their headers. */
    List<TestRecord<String, JobStatusChanged>> statusEvents() {
        List<TestRecord<String, JobStatusChanged>> events = new ArrayList<>();
        for (TestRecord<String, byte[]> record : status.readRecordsToList()) {
            try {
                events.add(new TestRecord<>(record.key(), KilnJson.MAPPER.readValue(record.value(), JobStatusChanged.class),
                        record.headers(), record.getRecordTime()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return events;
    }

    /** Workers started these jobs: they no longer count against the window. */
    void started(List<TestRecord<String, RenderJobRequested>> records) {
        records.forEach(r -> unstarted.started(r.key()));
    }

    double gauge(String name, String... tags) {
        var gauge = registry.find(name).tags(tags).gauge();
        return gauge == null ? Double.NaN : gauge.value();
    }

    static String header(TestRecord<?, ?> record, String name) {
        return CloudEventHeaders.get(record.headers(), name);
    }

    @Override
    public void close() {
        driver.close();
    }
}
