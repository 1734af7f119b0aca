package dev.kiln.batch;

import dev.kiln.job.BatchCreated;
import dev.kiln.job.BatchLookup;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.InvalidRequestException;
import dev.kiln.job.JobIds;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.ServiceUnavailableException;
import dev.kiln.messaging.Topics;
import dev.kiln.messaging.TransactionalPublisher;
import dev.kiln.tenant.CurrentTenant;
import dev.kiln.tenant.TenantQuotaGuard;
import dev.kiln.messaging.BrokerHealth;
import dev.kiln.storage.StorageHealth;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Accepts batches: validates, resolves each item into a job, and writes the whole batch in one
 * Kafka transaction: its {@code kiln.batch.created} event and each job's {@code queued} event
 * (with the item's metadata) on {@code kiln.status}, and its jobs as {@link JobsStaged} chunks on
 * {@code kiln.items}, where the dispatcher takes them. It answers only after the commit; a failed
 * transaction is aborted, so nothing of the batch is visible to read_committed consumers and a
 * retry with the same idempotency key makes it afresh. An idempotency key names the batch id, so
 * a replay finds the batch it made, wherever it was accepted. A JSON batch and an NDJSON catalogue
 * alike are read as a stream into a spool file, then planned from it a chunk at a time inside the
 * transaction ({@link #submitCatalogue}), so that the heap does not grow with the batch.
 */
@ApplicationScoped
public class BatchIntake {

    /** A Kafka that did not confirm a whole batch in the publish timeout is unlikely to within seconds. */
    private static final Duration NOT_ACCEPTED_RETRY_AFTER = Duration.ofSeconds(10);
    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();
    /** Items planned together: their references are resolved with one look-up each. */
    static final int CHUNK_JOBS = StagedChunkWriter.MAX_JOBS;

    private final ReferenceResolver references;
    private final BatchEstimator estimator;
    private final TransactionalPublisher transactions;
    private final BatchLookup batches;
    private final IntakeConfig config;
    private final CurrentTenant caller;
    private final StorageHealth storage;
    private final BrokerHealth broker;
    private final NdjsonCatalogueReader catalogues;
    private final JsonCatalogueReader jsonCatalogues;
    private final TenantQuotaGuard quotas;
    private final ExpectedCacheHits cacheHits;
    private final dev.kiln.economy.EconomyConfig economy;
    /** Serialises concurrent requests with one key in this replica, so a double click makes one batch. */
    private final Map<String, ReentrantLock> keyLocks = new ConcurrentHashMap<>();

    public BatchIntake(ReferenceResolver references, BatchEstimator estimator,
                       TransactionalPublisher transactions, BatchLookup batches,
                       IntakeConfig config, CurrentTenant caller, StorageHealth storage, BrokerHealth broker,
                       NdjsonCatalogueReader catalogues, JsonCatalogueReader jsonCatalogues, TenantQuotaGuard quotas,
                       ExpectedCacheHits cacheHits, dev.kiln.economy.EconomyConfig economy) {
        this.jsonCatalogues = jsonCatalogues;
        this.quotas = quotas;
        this.cacheHits = cacheHits;
        this.economy = economy;
        this.references = references;
        this.estimator = estimator;
        this.transactions = transactions;
        this.batches = batches;
        this.config = config;
        this.caller = caller;
        this.storage = storage;
        this.broker = broker;
        this.catalogues = catalogues;
    }

    /**
     * While Kafka or S3 is unreachable nothing could be staged (or its references checked): 503
     * with {@code Retry-After} at once, rather than a request that hangs and then fails.
     */
    private void refuseWhileDependenciesAreDown() {
        if (!broker.isAvailable()) {
            throw new ServiceUnavailableException("kafka-unavailable", "Kafka unavailable",
                    "Kafka is unreachable; nothing was accepted. Retry later.", broker.retryAfter());
        }
        if (!storage.isAvailable()) {
            throw new ServiceUnavailableException("storage-unavailable", "Storage unavailable",
                    "S3 storage is unreachable; nothing was accepted. Retry later.", storage.retryAfter());
        }
    }

    /**
     * Accepts a catalogue, JSON or NDJSON, or replays the batch an earlier request with the same
     * key made. The body is read, checked and kept on disk item by item ({@link JsonCatalogueReader},
     * {@link NdjsonCatalogueReader}); only then is the batch written in one Kafka transaction, read
     * back from disk a chunk at a time, so the heap holds a few hundred items at most.
     */
    public BatchAccepted submitCatalogue(InputStream body, boolean ndjson, Optional<String> idempotencyKey) throws IOException {
        refuseWhileDependenciesAreDown();
        String tenant = caller.id();
        long started = System.nanoTime();
        long cpuAtStart = THREADS.getCurrentThreadCpuTime();
        try (CatalogueSpool spool = CatalogueSpool.create(spoolDir())) {
            Catalogue catalogue = read(body, ndjson, tenant, spool);
            long read = System.nanoTime();
            BatchAccepted accepted = once(tenant, idempotencyKey, catalogue.requestSha256(), batchId -> {
                Instant now = Instant.now();
                quotas.checkBatch(tenant, catalogue.items(), catalogue.images());
                // A budget (the batch's, or the tenant's monthly one) reserves the dearest job's cost,
                // which the batch event carries, and the batch event goes first: the catalogue is
                // planned once before its transaction to know it. Without a budget that pass is skipped.
                Double jobCost = null;
                if (catalogue.batch().budgetUsd() != null || quotas.hasMonthlyBudget(tenant)) {
                    BatchEstimator.Running costs = estimator.running(false, 1.0);
                    planSpooled(batchId, tenant, catalogue, spool, now, costs::add);
                    jobCost = costs.dearestJobUsd();
                }
                return publish(batchId, tenant, catalogue.batch(), catalogue.items(), catalogue.images(),
                        catalogue.requestSha256(), now, jobCost,
                        jobs -> planSpooled(batchId, tenant, catalogue, spool, now, (job, refs) -> jobs.accept(job)));
            });
            if (!accepted.replayed()) {
                // The request thread's own CPU time tells a busy machine apart from a slow intake.
                Log.infof("batch %s accepted: %d items (%s), read and checked in %d ms, then staged and committed in %d ms;"
                                + " %d ms of CPU on the request thread",
                        accepted.id(), catalogue.items(), ndjson ? "NDJSON" : "JSON", (read - started) / 1_000_000,
                        (System.nanoTime() - read) / 1_000_000, (THREADS.getCurrentThreadCpuTime() - cpuAtStart) / 1_000_000);
            }
            return accepted;
        }
    }

    /**
     * Checks a catalogue as {@link #submitCatalogue} does, references included, and estimates it;
     * publishes nothing. The jobs are estimated as they are planned, a chunk at a time.
     */
    public BatchEstimate dryRun(InputStream body, boolean ndjson) throws IOException {
        String tenant = caller.id();
        try (CatalogueSpool spool = CatalogueSpool.create(spoolDir())) {
            Catalogue catalogue = read(body, ndjson, tenant, spool);
            quotas.checkItems(tenant, catalogue.items());
            BatchRequest batch = catalogue.batch();
            BatchEstimator.Running estimate = estimator.running(batch.economy() && economy.enabled(), economy.priceFactor());
            // Cache hits are looked up for small batches only; one more job than that says "too many".
            List<RenderJobRequested> first = new ArrayList<>();
            planSpooled("dry-run", tenant, catalogue, spool, Instant.now(), (job, refs) -> {
                estimate.add(job, refs);
                if (first.size() <= ExpectedCacheHits.MAX_LOOKUPS) {
                    first.add(job);
                }
            });
            Optional<Set<Integer>> hits = batch.usesCache() ? cacheHits.of(first, tenant) : Optional.empty();
            return estimate.inLane(hits, batch.budgetUsd());
        }
    }

    private Catalogue read(InputStream body, boolean ndjson, String tenant, CatalogueSpool spool) throws IOException {
        return ndjson ? catalogues.read(body, tenant, spool) : jsonCatalogues.read(body, tenant, spool);
    }

    private Path spoolDir() {
        return Path.of(config.spoolDir().filter(s -> !s.isBlank())
                .orElseGet(() -> System.getProperty("java.io.tmpdir")));
    }

    /**
     * Runs {@code accept} with a fresh batch id, or with the id {@code idempotencyKey} names unless
     * that batch exists already: then it is replayed (the same body) or refused (another body).
     */
    private BatchAccepted once(String tenant, Optional<String> idempotencyKey, String requestSha,
                               Function<String, BatchAccepted> accept) {
        if (idempotencyKey.isEmpty()) {
            return accept.apply(JobIds.newBatchId());
        }
        String batchId = JobIds.batchIdFor(tenant, idempotencyKey.get());
        ReentrantLock lock = keyLocks.computeIfAbsent(batchId, k -> new ReentrantLock());
        lock.lock();
        try {
            Optional<BatchLookup.KnownBatch> earlier = batches.find(batchId);
            if (earlier.isPresent()) {
                return replay(earlier.get(), requestSha);
            }
            return accept.apply(batchId);
        } finally {
            lock.unlock();
            keyLocks.remove(batchId, lock);
        }
    }

    private BatchAccepted replay(BatchLookup.KnownBatch earlier, String requestSha) {
        if (!requestSha.equals(earlier.requestSha256())) {
            throw new IdempotencyKeyReusedException(earlier.id());
        }
        return new BatchAccepted(earlier.id(), earlier.externalId(), earlier.state().wireName(), earlier.items(),
                earlier.images(), earlier.createdAt(), true);
    }

    /**
     * Writes the batch in one transaction: its created event, then each job of {@code jobs} (its
     * queued event, and the job in a staged chunk). {@code jobs} may refuse the batch half-way
     * (an {@link InvalidRequestException}): the transaction is aborted and nothing is visible.
     */
    private BatchAccepted publish(String batchId, String tenant, BatchRequest request, int items, long images,
                                  String requestSha, Instant now, Double jobCostUsd, JobSource jobs) {
        BatchCreated created = new BatchCreated(batchId, tenant, request.externalId(), items, images,
                requestSha, request.webhook(), now,
                request.budgetUsd() == null ? null : request.budgetUsd().doubleValue(), jobCostUsd);
        Priority priority = request.parsedPriority();
        Instant deadline = request.deadlineAt(now).orElse(null);
        try {
            transactions.inTransaction(tx -> {
                // The batch event first: the view must know the batch before any of its jobs.
                tx.send(Topics.STATUS, batchId, created, EventTypes.BATCH_CREATED, batchId);
                StagedChunkWriter chunks = new StagedChunkWriter(tx, batchId, tenant, priority, deadline,
                        created.budgetUsd(), jobCostUsd);
                QueuedEventWriter queued = new QueuedEventWriter(now);
                jobs.forEach(job -> {
                    tx.sendJson(Topics.STATUS, batchId, queued.write(job), QueuedEventWriter.TYPE, job.jobId());
                    chunks.add(job);
                });
                chunks.flush();
            });
        } catch (TransactionalPublisher.TransactionFailedException e) {
            // A commit that timed out may have succeeded after all: then the batch shows up.
            if (!(hasTimeout(e) && batches.awaitVisible(batchId))) {
                Log.errorf("batch %s was not accepted: its transaction was aborted (%s)", batchId, e.getMessage());
                throw new ServiceUnavailableException("not-accepted", "Batch not accepted",
                        "Kafka did not commit the batch; nothing was accepted. Retry with the same Idempotency-Key.",
                        NOT_ACCEPTED_RETRY_AFTER);
            }
        }
        // The client's first GET on this replica should find the batch; it is accepted either way.
        batches.awaitVisible(batchId);
        return new BatchAccepted(batchId, request.externalId(), "queued", items, images, now, false);
    }

    /** The planned jobs of a batch, handed one at a time to whoever writes them. */
    @FunctionalInterface
    private interface JobSource {
        void forEach(Consumer<RenderJobRequested> job);
    }

    /**
     * The jobs of a spooled catalogue, planned {@value #CHUNK_JOBS} items at a time: each chunk's
     * references are resolved together (one S3 look-up per distinct reference of the chunk). A
     * reference that cannot be used ends the batch with every such problem, named by its line.
     */
    private void planSpooled(String batchId, String tenant, Catalogue catalogue, CatalogueSpool spool, Instant now,
                             BiConsumer<RenderJobRequested, ResolvedReferences> jobs) {
        BatchRequest batch = catalogue.batch();
        ImageParameters base = BatchValidator.defaultsOf(batch).parameters().withDefaultModel(config.defaultModel());
        Set<FieldError> errors = new LinkedHashSet<>();
        int index = 0;
        try (CatalogueSpool.Reader lines = spool.reader()) {
            List<CatalogueSpool.Line> chunk = new ArrayList<>(CHUNK_JOBS);
            CatalogueSpool.Line line;
            do {
                line = lines.next();
                if (line != null) {
                    chunk.add(line);
                }
                if (chunk.size() == CHUNK_JOBS || (line == null && !chunk.isEmpty())) {
                    List<BatchItem> items = new ArrayList<>(chunk.size());
                    for (CatalogueSpool.Line each : chunk) {
                        items.add(catalogues.item(each));
                    }
                    BatchRequest part = new BatchRequest(batch.externalId(), batch.defaults(), items, batch.webhook(),
                            batch.priority(), batch.deadline(), batch.cache(), batch.budgetUsd(), batch.lane());
                    ReferenceResolver.Resolution resolution = references.resolve(part, tenant);
                    for (FieldError e : resolution.errors()) {
                        errors.add(named(e, chunk, catalogue));
                    }
                    if (errors.isEmpty()) {
                        for (int j = 0; j < items.size(); j++) {
                            ResolvedReferences refs = resolution.items().get(j);
                            jobs.accept(plan(batchId, tenant, index + j, items.get(j), base, refs, now)
                                    .withCache(batch.usesCache())
                                    .withLane(batch.economy() ? RenderJobRequested.ECONOMY : null), refs);
                        }
                    } else if (errors.size() >= NdjsonCatalogueReader.MAX_ERRORS) {
                        break;
                    }
                    index += chunk.size();
                    chunk.clear();
                }
            } while (line != null);
        } catch (IOException e) {
            throw new UncheckedIOException("reading the spooled catalogue back", e);
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors.stream().limit(NdjsonCatalogueReader.MAX_ERRORS).toList());
        }
    }

    /**
     * Renames a resolver's {@code items[j].x} (j counts in the chunk) to where the item is in the
     * body, and {@code defaults.x} to where the batch-level fields are.
     */
    private static FieldError named(FieldError error, List<CatalogueSpool.Line> chunk, Catalogue catalogue) {
        String field = error.field();
        if (field.startsWith("items[")) {
            int close = field.indexOf(']');
            int j = Integer.parseInt(field.substring("items[".length(), close));
            return new FieldError(catalogue.itemPath(chunk.get(j).number()) + field.substring(close + 1), error.reason());
        }
        return new FieldError(catalogue.batchField(field), error.reason());
    }

    private static boolean hasTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.kafka.common.errors.TimeoutException) {
                return true;
            }
        }
        return false;
    }

    private static RenderJobRequested plan(String batchId, String tenant, int index, BatchItem item,
                                           ImageParameters base, ResolvedReferences refs, Instant now) {
        ImageParameters parameters = base.overriddenBy(item.parameters());
        if (!refs.isEdit()) {
            // A default input_fidelity is meant for the batch's edits; a generation must not send it.
            parameters = parameters.forGeneration();
        }
        return new RenderJobRequested(JobIds.jobId(batchId, index), batchId, tenant, item.id(), index, item.prompt(),
                parameters, refs.locations(), refs.maskLocation(),
                item.metadata() == null ? Map.of() : item.metadata(), 1, now);
    }
}
