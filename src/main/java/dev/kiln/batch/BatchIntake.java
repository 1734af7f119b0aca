package dev.kiln.batch;

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
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;

/**
 * Accepts batches: validates, resolves each item into a job, and writes the whole batch in one
 * Kafka transaction: its {@code kiln.batch.created} event and each job's {@code queued} event
 * (with the item's metadata) on {@code kiln.status}, and its jobs as {@link JobsStaged} chunks on
 * {@code kiln.items}, where the dispatcher takes them. It answers only after the commit; a failed
 * transaction is aborted, so nothing of the batch is visible to read_committed consumers and a
 * retry with the same idempotency key makes it afresh. An idempotency key names the batch id, so
 * a replay finds the batch it made, wherever it was accepted.
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
    private final TenantQuotaGuard quotas;
    private final ExpectedCacheHits cacheHits;
    private final dev.kiln.economy.EconomyConfig economy;
    /** Serialises concurrent requests with one key in this replica, so a double click makes one batch. */
    private final Map<String, ReentrantLock> keyLocks = new ConcurrentHashMap<>();

    public BatchIntake(BatchValidator validator, ReferenceResolver references, BatchEstimator estimator,
                       TransactionalPublisher transactions, BatchLookup batches,
                       IntakeConfig config, CurrentTenant caller, StorageHealth storage, BrokerHealth broker,
                       TenantQuotaGuard quotas, ExpectedCacheHits cacheHits,
                       dev.kiln.economy.EconomyConfig economy) {
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
        this.quotas = quotas;
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
        if (idempotencyKey.isEmpty()) {
            return publish(JobIds.newBatchId(), tenant, request, requestSha);
        }
        String batchId = JobIds.batchIdFor(tenant, idempotencyKey.get());
        ReentrantLock lock = keyLocks.computeIfAbsent(batchId, k -> new ReentrantLock());
        lock.lock();
        try {
            Optional<BatchLookup.KnownBatch> earlier = batches.find(batchId);
            if (earlier.isPresent()) {
                return replay(earlier.get(), requestSha);
            }
            return publish(batchId, tenant, request, requestSha);
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
        java.util.Optional<java.util.Set<Integer>> hits = request.usesCache() ? cacheHits.of(planned, tenant) : java.util.Optional.empty();
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

    private BatchAccepted publish(String batchId, String tenant, BatchRequest request, String requestSha) {
        Instant now = Instant.now();
        List<ResolvedReferences> resolved = resolve(request, tenant);
        List<RenderJobRequested> planned = plan(batchId, tenant, request, resolved, now);
        long images = planned.stream().mapToLong(RenderJobRequested::imageCount).sum();
        // Tenant quotas (items per batch: 400; pending images: 429), before anything is staged.
        quotas.checkBatch(tenant, planned.size(), images);
        BatchCreated created = new BatchCreated(batchId, tenant, request.externalId(), planned.size(), images,
                requestSha, request.webhook(), now,
                request.budgetUsd() == null ? null : request.budgetUsd().doubleValue(),
                request.budgetUsd() == null ? null : estimator.dearestJob(planned, resolved));
        Priority priority = request.parsedPriority();
        Instant deadline = request.deadlineAt(now).orElse(null);
        try {
            transactions.inTransaction(tx -> {
                // The batch event first: the view must know the batch before any of its jobs.
                tx.send(Topics.STATUS, batchId, created, EventTypes.BATCH_CREATED, batchId);
                List<RenderJobRequested> chunk = new ArrayList<>();
                long chunkBytes = 0;
                for (RenderJobRequested job : planned) {
                    JobStatusChanged queued = JobStatusChanged.accepted(job);
                    tx.send(Topics.STATUS, batchId, queued, queued.eventType(), job.jobId());
                    int bytes = sizeOf(job);
                    if (!chunk.isEmpty() && (chunk.size() >= CHUNK_JOBS || chunkBytes + bytes > CHUNK_BYTES)) {
                        stage(tx, batchId, tenant, priority, deadline, chunk);
                        chunk = new ArrayList<>();
                        chunkBytes = 0;
                    }
                    chunk.add(job);
                    chunkBytes += bytes;
                }
                stage(tx, batchId, tenant, priority, deadline, chunk);
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
        return new BatchAccepted(batchId, request.externalId(), "queued", planned.size(), images, now, false);
    }

    private static void stage(TransactionalPublisher.Transaction tx, String batchId, String tenant, Priority priority,
                              Instant deadline, List<RenderJobRequested> chunk) {
        if (!chunk.isEmpty()) {
            tx.send(Topics.ITEMS, batchId, new JobsStaged(batchId, tenant, priority, deadline, chunk),
                    EventTypes.ITEMS_STAGED, batchId);
        }
    }

    private static int sizeOf(RenderJobRequested job) {
        try {
            return KilnJson.MAPPER.writeValueAsBytes(job).length;
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
