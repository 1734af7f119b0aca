package dev.kiln.economy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.config.KilnConfig;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.InstanceIdentity;
import dev.kiln.messaging.KilnJson;
import dev.kiln.provider.BatchApiClient;
import dev.kiln.provider.BatchApiException;
import dev.kiln.provider.ProviderBatchState;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The economy lane. A worker hands it each {@code lane: economy} generation ({@link #submit});
 * the lane gathers them for {@code kiln.economy.collect-window}, then per group (split under the
 * Batch API's 50,000 requests and 200 MB): records the group as {@code submitting} on
 * {@code kiln.provider-batches}, uploads the JSONL ({@code custom_id} = job id), creates the batch
 * with a {@code 24h} window and the group id as {@code kiln_group} metadata, and records it
 * {@code submitted}. Only then does {@link #submit} return, so the job's offset on
 * {@code kiln.jobs} is committed only once the provider batch is on record.
 *
 * <p>Nothing is submitted twice: a job that is already in an open group (a redelivery) is not
 * added again; a group recorded {@code submitting} by a worker that died is looked up at the
 * provider by its {@code kiln_group} metadata before anything is sent again. A restarted worker
 * reattaches to the groups it owns and polls them; their results go to {@link LaneResults}. A
 * cancel that covers every job of an open group cancels its provider batch.
 *
 * <p>Edits stay in the standard lane: Kiln sends edits as multipart with the reference files,
 * while the Batch API takes only JSON bodies (references by file id or URL), which would mean
 * uploading every reference as a file first. See docs/costs.md.
 */
@ApplicationScoped
public class EconomyLane {

    static final String ENDPOINT = "/v1/images/generations";
    static final String GROUP_METADATA = "kiln_group";

    private final EconomyConfig config;
    private final BatchApiClient client;
    private final LaneResults results;
    private final InstanceIdentity instance;
    private final Map<String, Object> kafka;
    private final boolean enabled;
    private final ObjectMapper json = KilnJson.MAPPER;
    private final Object collecting = new Object();
    private List<Pending> gathering = new ArrayList<>();
    private final Set<String> polled = ConcurrentHashMap.newKeySet();
    private final Set<String> cancelAsked = ConcurrentHashMap.newKeySet();
    private volatile boolean ready;
    private ProviderBatchLog log;
    private ScheduledExecutorService background;
    private Path workDir;

    @jakarta.inject.Inject
    public EconomyLane(EconomyConfig config, BatchApiClient client, LaneResults results, InstanceIdentity instance,
                       KilnConfig kiln, @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this.config = config;
        this.client = client;
        this.results = results;
        this.instance = instance;
        this.kafka = kafka;
        this.enabled = config.enabled() && kiln.parsedRole().runsWorker();
    }

    private EconomyLane() {
        this.config = null;
        this.client = null;
        this.results = null;
        this.instance = null;
        this.kafka = Map.of();
        this.enabled = false;
    }

    /** A lane that takes no job, for processors built without Quarkus (tests of the standard lane). */
    public static EconomyLane off() {
        return new EconomyLane();
    }

    void start(@Observes StartupEvent event) throws IOException, InterruptedException {
        if (!enabled) {
            return;
        }
        // What a fresh process would hold: the record on kiln.provider-batches is the only memory.
        ready = false;
        polled.clear();
        cancelAsked.clear();
        // A job handed over while the lane was stopping was never sent: it ends as a retry, as at a stop.
        failGathering(new NotSubmittedException("the economy lane restarted before the group was submitted"));
        workDir = Files.createTempDirectory("kiln-economy-");
        log = new ProviderBatchLog(kafka);
        log.follow();
        background = Executors.newScheduledThreadPool(2, Thread.ofVirtual().name("kiln-economy-", 0).factory());
        background.execute(this::reattach);
        long collect = config.collectWindow().toMillis();
        background.scheduleWithFixedDelay(this::flushSafely, collect, collect, TimeUnit.MILLISECONDS);
        long poll = config.pollInterval().toMillis();
        background.scheduleWithFixedDelay(this::pollSafely, poll, poll, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        ready = false;
        if (background != null) {
            background.shutdownNow();
            try {
                // A flush cut short ends its jobs as retries on its way out (see flush); wait for that.
                background.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // Jobs still gathering were never sent: their deliveries end unacknowledged-safe (a retry).
        failGathering(new NotSubmittedException("the economy lane stopped before the group was submitted"));
        if (log != null) {
            log.close();
        }
    }

    /** Whether this lane takes {@code job}: an economy generation, with the lane on in this process. */
    public boolean takes(RenderJobRequested job) {
        return enabled && job.economy() && (job.referenceImages() == null || job.referenceImages().isEmpty());
    }

    /** The share of the standard price the lane's renders cost. */
    public double priceFactor() {
        return config.priceFactor();
    }

    /**
     * Hands {@code job} to the lane and returns once its provider batch is on record (or it was in
     * one already).
     *
     * @throws NotSubmittedException when the group could not be submitted; nothing was sent for it,
     *                               and the job may be tried again later
     */
    public void submit(RenderJobRequested job) throws NotSubmittedException, InterruptedException {
        if (!ready) {
            throw new NotSubmittedException("the economy lane has not finished reading kiln.provider-batches yet");
        }
        Optional<EconomyGroup> holding = groupHolding(job.jobId());
        if (holding.isPresent()) {
            Log.infof("job %s is already in provider batch %s; not submitted again", job.jobId(),
                    holding.get().providerBatchId());
            return;
        }
        Pending pending = new Pending(job, new CompletableFuture<>());
        synchronized (collecting) {
            gathering.add(pending);
        }
        try {
            pending.recorded().get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof NotSubmittedException n ? n
                    : new NotSubmittedException("submitting failed: " + e.getCause());
        }
    }

    private Optional<EconomyGroup> groupHolding(String jobId) throws NotSubmittedException, InterruptedException {
        for (EconomyGroup group : log.open().values()) {
            if (group.jobs().stream().noneMatch(j -> j.jobId().equals(jobId))) {
                continue;
            }
            if (group.state().equals(EconomyGroup.SUBMITTING)) {
                // A submission whose outcome is unknown: settle it before sending this job again.
                try {
                    settleSubmitting(group);
                } catch (IOException | BatchApiException e) {
                    throw new NotSubmittedException("group " + group.groupId() + " is not settled yet: " + e.getMessage());
                }
                EconomyGroup settled = log.open().get(group.groupId());
                if (settled != null && settled.state().equals(EconomyGroup.SUBMITTED)) {
                    return Optional.of(settled);
                }
                continue;
            }
            return Optional.of(group);
        }
        return Optional.empty();
    }

    private void flushSafely() {
        try {
            flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            Log.error("economy lane: submitting a group failed", e);
        }
    }

    /**
     * Submits what was gathered, in groups under the Batch API's limits. A flush cut short (the lane
     * stopping interrupts it, or a group fails unexpectedly) ends every job it took and did not
     * submit as not submitted, so that its delivery is retried: a job left waiting here would hold
     * its worker thread, and stay {@code running}, for good.
     */
    void flush() throws InterruptedException {
        List<Pending> taken;
        synchronized (collecting) {
            taken = gathering;
            gathering = new ArrayList<>();
        }
        try {
            List<Pending> group = new ArrayList<>();
            long bytes = 0;
            for (Pending pending : taken) {
                byte[] line = line(pending.job());
                if (!group.isEmpty() && (group.size() >= config.maxRequests() || bytes + line.length + 1 > config.maxBytes())) {
                    submitGroup(group);
                    group = new ArrayList<>();
                    bytes = 0;
                }
                group.add(pending);
                bytes += line.length + 1;
            }
            if (!group.isEmpty()) {
                submitGroup(group);
            }
        } finally {
            // A group whose SUBMITTING record was written is settled by groupHolding when the job comes back.
            NotSubmittedException cut = new NotSubmittedException("the economy lane's flush ended before the group was submitted");
            taken.forEach(p -> p.recorded().completeExceptionally(cut));
        }
    }

    /** Ends every job still gathering as not submitted (a retry). */
    private void failGathering(NotSubmittedException reason) {
        List<Pending> left;
        synchronized (collecting) {
            left = gathering;
            gathering = new ArrayList<>();
        }
        left.forEach(p -> p.recorded().completeExceptionally(reason));
    }

    private void submitGroup(List<Pending> pending) throws InterruptedException {
        List<RenderJobRequested> jobs = pending.stream().map(Pending::job).toList();
        EconomyGroup group = new EconomyGroup("grp_" + UUID.randomUUID().toString().replace("-", ""), instance.id(),
                EconomyGroup.SUBMITTING, null, jobs, Instant.now());
        Path input = workDir.resolve(group.groupId() + ".jsonl");
        try {
            log.write(group);
            try (OutputStream out = Files.newOutputStream(input)) {
                for (RenderJobRequested job : jobs) {
                    out.write(line(job));
                    out.write('\n');
                }
            }
            String fileId = client.upload(input, group.groupId() + ".jsonl");
            ProviderBatchState created = client.create(fileId, ENDPOINT, Map.of(GROUP_METADATA, group.groupId()));
            EconomyGroup submitted = group.in(EconomyGroup.SUBMITTED, created.id());
            log.write(submitted);
            Log.infof("economy lane: %d jobs in provider batch %s (group %s)", jobs.size(), created.id(), group.groupId());
            pending.forEach(p -> p.recorded().complete(null));
        } catch (IOException | BatchApiException e) {
            // The create call may have reached the provider even though its answer did not reach
            // us: look the group up by its metadata before the jobs may be sent again.
            if (settledAfterFailure(group)) {
                pending.forEach(p -> p.recorded().complete(null));
                return;
            }
            NotSubmittedException failure = new NotSubmittedException("group " + group.groupId() + ": " + e.getMessage());
            pending.forEach(p -> p.recorded().completeExceptionally(failure));
        } finally {
            try {
                Files.deleteIfExists(input);
            } catch (IOException ignored) {
                // a temporary file; the folder goes with the process
            }
        }
    }

    /** Whether {@code group}, whose submission failed half-way, turned out to exist at the provider (and is now on record). */
    private boolean settledAfterFailure(EconomyGroup group) throws InterruptedException {
        try {
            settleSubmitting(group);
            return log.open().get(group.groupId()) != null
                    && log.open().get(group.groupId()).state().equals(EconomyGroup.SUBMITTED);
        } catch (IOException | BatchApiException e) {
            // Still unknown: the group stays "submitting" on record, and its jobs' redeliveries
            // settle it (groupHolding) before anything is sent for them again.
            return false;
        }
    }

    /** One request line: the job id as custom_id and the generation body the standard lane would send. */
    byte[] line(RenderJobRequested job) {
        ObjectNode body = json.valueToTree(job.parameters() == null ? ImageParameters.NONE : job.parameters());
        body.remove("input_fidelity");
        body.put("prompt", job.prompt());
        ObjectNode line = json.createObjectNode();
        line.put("custom_id", job.jobId());
        line.put("method", "POST");
        line.put("url", ENDPOINT);
        line.set("body", body);
        return line.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Reads kiln.provider-batches, settles groups left "submitting", then opens the lane. */
    private void reattach() {
        try {
            if (!log.awaitCaughtUp(config.reattachTimeout())) {
                Log.warn("economy lane: kiln.provider-batches was not read in time; the lane stays closed until it is");
                if (!log.awaitCaughtUp(Duration.ofDays(1))) {
                    return;
                }
            }
            for (EconomyGroup group : log.open().values()) {
                if (group.owner().equals(instance.id()) && group.state().equals(EconomyGroup.SUBMITTING)) {
                    settleSubmitting(group);
                }
            }
            long mine = log.open().values().stream().filter(g -> g.owner().equals(instance.id())).count();
            if (mine > 0) {
                Log.infof("economy lane: reattached to %d open provider batch(es)", mine);
            }
            ready = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | IOException | BatchApiException e) {
            Log.error("economy lane: reattaching failed; the lane stays closed", e);
        }
    }

    /**
     * A group this worker recorded "submitting" before it stopped: its batch may exist. If the
     * provider has one with its metadata, the group is submitted; if not, nothing was sent, its
     * jobs were never acknowledged and come back on kiln.jobs, so the group just ends.
     */
    private void settleSubmitting(EconomyGroup group) throws BatchApiException, InterruptedException, IOException {
        Optional<ProviderBatchState> found = client.recent().stream()
                .filter(b -> group.groupId().equals(b.metadata().get(GROUP_METADATA))).findFirst();
        if (found.isPresent()) {
            log.write(group.in(EconomyGroup.SUBMITTED, found.get().id()));
        } else {
            log.write(group.in(EconomyGroup.ENDED, null));
        }
    }

    private void pollSafely() {
        if (!ready) {
            return;
        }
        for (EconomyGroup group : log.open().values()) {
            if (!group.owner().equals(instance.id()) || !group.state().equals(EconomyGroup.SUBMITTED)
                    || !polled.add(group.groupId())) {
                continue;
            }
            try {
                poll(group);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (BatchApiException | IOException | RuntimeException e) {
                Log.warnf("economy lane: polling provider batch %s failed (%s); trying again at the next poll",
                        group.providerBatchId(), e.getMessage());
            } finally {
                polled.remove(group.groupId());
            }
        }
    }

    private void poll(EconomyGroup group) throws BatchApiException, InterruptedException, IOException {
        ProviderBatchState state = client.get(group.providerBatchId());
        if (!state.isFinal()) {
            if (!cancelAsked.contains(group.groupId()) && group.jobs().stream().allMatch(results::cancelRequested)) {
                Log.infof("economy lane: every job of provider batch %s is cancelled; cancelling it", state.id());
                client.cancel(state.id());
                cancelAsked.add(group.groupId());
            }
            return;
        }
        new ResultFiles(client, results, workDir, json, config.priceFactor()).handle(group, state);
        log.write(group.in(EconomyGroup.ENDED, state.id()));
        cancelAsked.remove(group.groupId());
        Log.infof("economy lane: provider batch %s ended %s; its %d jobs are handed back", state.id(), state.status(),
                group.jobs().size());
    }

    /** The provider batches this worker polls now, for tests and logs. */
    public Set<String> openProviderBatches() {
        Set<String> ids = new HashSet<>();
        if (log != null) {
            log.open().values().stream().filter(g -> g.owner().equals(instance.id()) && g.providerBatchId() != null)
                    .forEach(g -> ids.add(g.providerBatchId()));
        }
        return ids;
    }

    /** The record of groups, for tests. */
    ProviderBatchLog log() {
        return log;
    }

    private record Pending(RenderJobRequested job, CompletableFuture<Void> recorded) {
    }

    /** The job's group could not be submitted; nothing was sent for it. */
    public static final class NotSubmittedException extends Exception {
        NotSubmittedException(String message) {
            super(message);
        }
    }
}
