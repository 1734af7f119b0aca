package dev.kiln.batch;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.BatchLookup;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.InvalidRequestException;
import dev.kiln.job.JobIds;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.messaging.KilnJson;
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
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * Accepts batches: validates, resolves each item into a job, and writes the whole batch in one
 * Kafka transaction: its {@code kiln.batch.created} event and each job's {@code queued} event
 * (with the item's metadata) on {@code kiln.status}, and its jobs as {@link JobsStaged} chunks on
 * {@code kiln.items}, where the dispatcher takes them. It answers only after the commit; a failed
 * transaction is aborted, so nothing of the batch is visible to read_committed consumers and a
 * retry with the same idempotency key makes it afresh. An idempotency key names the batch id, so
 * a replay finds the batch it made, wherever it was accepted. A JSON batch is planned whole
 * ({@link #submit}); an NDJSON catalogue is read into a spool file and planned from it a chunk at
 * a time inside the transaction ({@link #submitCatalogue}).
 */
@ApplicationScoped
public class BatchIntake {

    /** A Kafka that did not confirm a whole batch in the publish timeout is unlikely to within seconds. */
    private static final Duration NOT_ACCEPTED_RETRY_AFTER = Duration.ofSeconds(10);
    /** Most jobs in one staged chunk. */
    static final int CHUNK_JOBS = 500;
    /** Most bytes of jobs in one staged chunk, below Kafka's default 1 MB record limit. */
    static final int CHUNK_BYTES = 900_000;

    private final BatchValidator validator;
    private final ReferenceResolver references;
    private final BatchEstimator estimator;
    private final TransactionalPublisher transactions;
    private final BatchLookup batches;
    private final IntakeConfig config;
    private final CurrentTenant caller;
    private final StorageHealth storage;
    private final BrokerHealth broker;
    private final NdjsonCatalogueReader catalogues;
    private final TenantQuotaGuard quotas;
    private final ExpectedCacheHits cacheHits;
    private final dev.kiln.economy.EconomyConfig economy;
    /** Serialises concurrent requests with one key in this replica, so a double click makes one batch. */
    private final Map<String, ReentrantLock> keyLocks = new ConcurrentHashMap<>();

    public BatchIntake(BatchValidator validator, ReferenceResolver references, BatchEstimator estimator,
                       TransactionalPublisher transactions, BatchLookup batches,
                       IntakeConfig config, CurrentTenant caller, StorageHealth storage, BrokerHealth broker,
                       NdjsonCatalogueReader catalogues, TenantQuotaGuard quotas, ExpectedCacheHits cacheHits,
                       dev.kiln.economy.EconomyConfig economy) {
        this.quotas = quotas;
        this.cacheHits = cacheHits;
        this.economy = economy;
        this.validator = validator;
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

    /** Accepts {@code request}, or replays the batch an earlier request with the same key made. */
    public BatchAccepted submit(BatchRequest request, Optional<String> idempotencyKey) {
        refuseWhileDependenciesAreDown();
        String tenant = caller.id();
        validate(request, tenant);
        String requestSha = JobIds.sha256Hex(canonical(request));
        return once(tenant, idempotencyKey, requestSha, batchId -> {
            Instant now = Instant.now();
            List<ResolvedReferences> resolved = resolve(request, tenant);
            List<RenderJobRequested> planned = plan(batchId, tenant, request, resolved, now);
            long images = planned.stream().mapToLong(RenderJobRequested::imageCount).sum();
            // Tenant quotas (items per batch: 400; pending images: 429), before anything is staged.
            quotas.checkBatch(tenant, planned.size(), images);
            // Every batch carries it: the tenant's monthly budget reserves it too, budget_usd or not.
            Double jobCost = estimator.dearestJob(planned, resolved);
            return publish(batchId, tenant, request, planned.size(), images, requestSha, now, jobCost, planned::forEach);
        });
    }

    /**
     * Accepts a streamed {@code application/x-ndjson} catalogue, or replays the batch an earlier
     * request with the same key made. The body is read, checked and kept on disk line by line
     * ({@link NdjsonCatalogueReader}); only then is the batch written in one Kafka transaction,
     * read back from disk a chunk at a time, so the heap holds a few hundred items at most.
     */
    public BatchAccepted submitCatalogue(InputStream body, Optional<String> idempotencyKey) throws IOException {
        refuseWhileDependenciesAreDown();
        String tenant = caller.id();
        try (CatalogueSpool spool = CatalogueSpool.create(spoolDir())) {
            NdjsonCatalogueReader.Catalogue catalogue = catalogues.read(body, tenant, spool);
            if (catalogue.batch().budgetUsd() != null) {
                // A budget reserves the dearest job's cost, known only once every reference is
                // resolved, after the batch event that carries it has been written.
                throw new InvalidRequestException(List.of(new FieldError(catalogue.batchPath() + ".budget_usd",
                        "is not supported with NDJSON yet; send a budgeted batch as JSON")));
            }
            return once(tenant, idempotencyKey, catalogue.requestSha256(), batchId -> {
                Instant now = Instant.now();
                quotas.checkBatch(tenant, catalogue.items(), catalogue.images());
                return publish(batchId, tenant, catalogue.batch(), catalogue.items(), catalogue.images(),
                        catalogue.requestSha256(), now, null,
                        jobs -> planSpooled(batchId, tenant, catalogue, spool, now, jobs));
            });
        }
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
     * Checks {@code request} as {@link #submit} does, references included, and estimates it;
     * publishes nothing.
     */
    public BatchEstimate dryRun(BatchRequest request) {
        String tenant = caller.id();
        validate(request, tenant);
        quotas.checkItems(tenant, request.items().size());
        List<ResolvedReferences> resolved = resolve(request, tenant);
        List<RenderJobRequested> planned = plan("dry-run", tenant, request, resolved, Instant.now());
        Optional<java.util.Set<Integer>> hits = request.usesCache() ? cacheHits.of(planned, tenant) : Optional.empty();
        return estimator.inLane(estimator.estimate(planned, resolved), planned, resolved,
                request.economy() && economy.enabled(), economy.priceFactor(), hits, request.budgetUsd());
    }

    private void validate(BatchRequest request, String tenant) {
        List<FieldError> errors = validator.validate(request, tenant);
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
    }

    /** Resolves the references (S3 look-ups), after the text of the batch passed validation. */
    private List<ResolvedReferences> resolve(BatchRequest request, String tenant) {
        ReferenceResolver.Resolution resolution = references.resolve(request, tenant);
        if (!resolution.errors().isEmpty()) {
            throw new InvalidRequestException(resolution.errors());
        }
        return resolution.items();
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
                Chunker chunker = new Chunker(tx, batchId, tenant, priority, deadline);
                jobs.forEach(job -> {
                    JobStatusChanged queued = JobStatusChanged.accepted(job);
                    tx.send(Topics.STATUS, batchId, queued, queued.eventType(), job.jobId());
                    chunker.add(job);
                });
                chunker.flush();
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
    private void planSpooled(String batchId, String tenant, NdjsonCatalogueReader.Catalogue catalogue,
                             CatalogueSpool spool, Instant now, Consumer<RenderJobRequested> jobs) {
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
                        errors.add(onLine(e, chunk, catalogue.batchPath()));
                    }
                    if (errors.isEmpty()) {
                        for (int j = 0; j < items.size(); j++) {
                            jobs.accept(plan(batchId, tenant, index + j, items.get(j), base, resolution.items().get(j), now)
                                    .withCache(batch.usesCache())
                                    .withLane(batch.economy() ? RenderJobRequested.ECONOMY : null));
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

    /** Renames a resolver's {@code items[j].x} to the item's line, and {@code defaults.x} to the batch line. */
    private static FieldError onLine(FieldError error, List<CatalogueSpool.Line> chunk, String batchPath) {
        String field = error.field();
        if (field.startsWith("items[")) {
            int close = field.indexOf(']');
            int j = Integer.parseInt(field.substring("items[".length(), close));
            return new FieldError("line " + chunk.get(j).number() + field.substring(close + 1), error.reason());
        }
        return new FieldError(batchPath + "." + field, error.reason());
    }

    /**
     * Groups jobs into staged chunks of at most {@value #CHUNK_JOBS} jobs and {@value #CHUNK_BYTES}
     * bytes. Each job is written to JSON once, to measure it, and the chunk carries that JSON as it
     * is (a {@link StagedChunk}, the JSON of a {@link JobsStaged}) rather than writing every job a
     * second time.
     */
    private static final class Chunker {
        private final TransactionalPublisher.Transaction tx;
        private final String batchId;
        private final String tenant;
        private final Priority priority;
        private final Instant deadline;
        private List<RawValue> chunk = new ArrayList<>();
        private long chunkBytes;

        Chunker(TransactionalPublisher.Transaction tx, String batchId, String tenant, Priority priority, Instant deadline) {
            this.tx = tx;
            this.batchId = batchId;
            this.tenant = tenant;
            this.priority = priority;
            this.deadline = deadline;
        }

        void add(RenderJobRequested job) {
            String json = toJson(job);
            // UTF-8 takes at most 3 bytes a char here (4 only for a surrogate pair, which is 2 chars).
            long bytes = 3L * json.length();
            if (!chunk.isEmpty() && (chunk.size() >= CHUNK_JOBS || chunkBytes + bytes > CHUNK_BYTES)) {
                flush();
            }
            chunk.add(new RawValue(json));
            chunkBytes += bytes;
        }

        void flush() {
            if (!chunk.isEmpty()) {
                tx.send(Topics.ITEMS, batchId, new StagedChunk(batchId, tenant, priority, deadline, chunk),
                        EventTypes.ITEMS_STAGED, batchId);
            }
            chunk = new ArrayList<>();
            chunkBytes = 0;
        }
    }

    /** The JSON shape of {@link JobsStaged}, with each job already written. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record StagedChunk(String batchId, String tenant, Priority priority, Instant deadline, List<RawValue> jobs) {
    }

    private static String toJson(RenderJobRequested job) {
        try {
            return KilnJson.MAPPER.writeValueAsString(job);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean hasTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.kafka.common.errors.TimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** One job per item, with the defaults merged in and the references resolved. */
    private List<RenderJobRequested> plan(String batchId, String tenant, BatchRequest request,
                                          List<ResolvedReferences> resolved, Instant now) {
        ImageParameters base = BatchValidator.defaultsOf(request).parameters().withDefaultModel(config.defaultModel());
        return IntStream.range(0, request.items().size())
                .mapToObj(i -> plan(batchId, tenant, i, request.items().get(i), base, resolved.get(i), now)
                        .withCache(request.usesCache())
                        .withLane(request.economy() ? RenderJobRequested.ECONOMY : null))
                .toList();
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

    private static byte[] canonical(BatchRequest request) {
        try {
            return KilnJson.MAPPER.writeValueAsBytes(request);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
