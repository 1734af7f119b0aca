package dev.kiln.dispatch;

import dev.kiln.job.Priority;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The order in which pending jobs are released; in memory only, rebuilt from the pending store
 * when the dispatcher's task starts. The rules, in order:
 * <ol>
 *   <li>priority: every job of {@code interactive} before any of {@code normal}, before {@code bulk};</li>
 *   <li>within a priority, retries that are due before fresh jobs, earliest due first;</li>
 *   <li>weighted fair share across tenants, counted in images: deficit round robin, where each
 *       visit to a tenant adds {@code quantum × weight} images to its allowance and the tenant
 *       releases jobs while their images fit in it. A tenant of weight w gets w / Σw of the
 *       images while every tenant has work; a tenant that runs dry leaves the round and loses
 *       its allowance, so nobody saves up a burst;</li>
 *   <li>round-robin across a tenant's batches, one job at a time;</li>
 *   <li>item order within a batch.</li>
 * </ol>
 * Each entry costs a few dozen bytes (batch, index, images), never the job itself.
 */
final class Scheduler {

    /**
     * One pending job as the scheduler sees it.
     *
     * @param batchId       its batch
     * @param tenant        its tenant
     * @param priority      its batch's priority
     * @param index         its item index, the order within the batch
     * @param images        images it asks for (n), its cost in the fair share
     * @param retry         whether it is a retry, which goes ahead of fresh jobs once due
     * @param dueAtMs       when a retry may be released; 0 for at once
     * @param batchSequence the order its batch arrived in, which orders the round-robin rings on rebuild
     */
    record Item(String batchId, String tenant, Priority priority, int index, int images,
                boolean retry, long dueAtMs, long batchSequence) {

        /** The job's key in the pending store; computed, so that an entry holds no string of its own. */
        String key() {
            return StoreKeys.pending(batchId, index);
        }
    }

    /** Smallest weight honoured, so that a tenant of weight 0 still moves, slowly. */
    static final double MIN_WEIGHT = 0.01;

    private final TenantWeights weights;
    private final int quantum;
    private final Level[] levels = new Level[Priority.values().length];
    private final Map<String, BatchQueue> batches = new HashMap<>();
    private final Map<String, Retry> retries = new HashMap<>();
    private final Map<String, Long> pendingImagesByTenant = new HashMap<>();
    private long pendingImages;
    private long pendingJobs;
    private long retrySequence;

    /**
     * @param weights each tenant's weight
     * @param quantum images added to a tenant's allowance per visit at weight 1; at least the
     *                largest n (10), so that a tenant releases something on most visits
     */
    Scheduler(TenantWeights weights, int quantum) {
        if (quantum < 1) {
            throw new IllegalArgumentException("quantum must be at least one image");
        }
        this.weights = weights;
        this.quantum = quantum;
        for (int i = 0; i < levels.length; i++) {
            levels[i] = new Level();
        }
    }

    /** Adds a pending job. Fresh jobs of one batch must be added in item order or any order; they leave in item order. */
    void add(Item item) {
        Level level = levels[item.priority().ordinal()];
        if (item.retry()) {
            Retry retry = new Retry(item, retrySequence++);
            retries.put(item.key(), retry);
            level.retries.add(retry);
        } else {
            BatchQueue batch = batches.get(item.batchId());
            if (batch == null) {
                batch = new BatchQueue(item.batchId(), item.tenant(), item.priority(), item.batchSequence());
                batches.put(item.batchId(), batch);
                TenantQueue tenant = level.tenants.get(item.tenant());
                if (tenant == null) {
                    tenant = new TenantQueue(item.tenant());
                    level.tenants.put(item.tenant(), tenant);
                    level.ring.addLast(tenant);
                }
                tenant.batches.addLast(batch);
            }
            batch.items.put(item.index(), item);
        }
        pendingImagesByTenant.merge(item.tenant(), (long) item.images(), Long::sum);
        pendingImages += item.images();
        pendingJobs++;
    }

    /** Takes the next job to release at {@code nowMs}, or null when none may go. */
    Item poll(long nowMs) {
        return poll(nowMs, item -> true);
    }

    /**
     * Takes the next job to release at {@code nowMs} among those {@code allowed} lets go, or null
     * when none may go. A batch whose next job is not allowed (its budget is held) loses its turn
     * to the tenant's next batch; a tenant none of whose batches may go (its {@code ipm_share_cap})
     * is passed over without gaining allowance, so the other tenants go on and its jobs stay pending.
     */
    Item poll(long nowMs, Predicate<Item> allowed) {
        for (Level level : levels) {
            Item retry = pollRetry(level, nowMs, allowed);
            if (retry != null) {
                return counted(retry);
            }
            Item fresh = pollFresh(level, allowed);
            if (fresh != null) {
                return counted(fresh);
            }
        }
        return null;
    }

    /**
     * Takes, out of turn, the first pending job that {@code allowed} lets go: a due retry, else the
     * next job of any batch; null when there is none. The rings, turns and allowances stay as they
     * were and nothing is charged to the tenant, so this is for jobs that take no share of the
     * provider (likely render-cache hits, released while the window is full).
     */
    Item pollOutOfTurn(long nowMs, Predicate<Item> allowed) {
        for (Level level : levels) {
            for (Retry retry : level.retries) {
                if (retry.item.dueAtMs() > nowMs) {
                    break;
                }
                if (allowed.test(retry.item)) {
                    remove(retry.item.batchId(), retry.item.index());
                    return retry.item;
                }
            }
        }
        for (Level level : levels) {
            for (TenantQueue tenant : level.ring) {
                for (BatchQueue batch : tenant.batches) {
                    Item next = batch.items.firstEntry().getValue();
                    if (allowed.test(next)) {
                        remove(batch.id, next.index());
                        return next;
                    }
                }
            }
        }
        return null;
    }

    /** Removes a pending job (cancelled, expired); false when the scheduler did not hold it. */
    boolean remove(String batchId, int index) {
        Retry retry = retries.remove(StoreKeys.pending(batchId, index));
        if (retry != null) {
            levels[retry.item.priority().ordinal()].retries.remove(retry);
            counted(retry.item);
            return true;
        }
        BatchQueue batch = batches.get(batchId);
        if (batch == null) {
            return false;
        }
        Item item = batch.items.remove(index);
        if (item == null) {
            return false;
        }
        if (batch.items.isEmpty()) {
            dropBatch(batch);
        }
        counted(item);
        return true;
    }

    /** Whether any job of {@code batchId} is pending. */
    boolean holds(String batchId) {
        return batches.containsKey(batchId) || retries.values().stream().anyMatch(r -> r.item.batchId().equals(batchId));
    }

    /** The batches of {@code tenant} with a job pending, fresh or retry; in memory, for a stop of the tenant's month. */
    java.util.Set<String> batchesOf(String tenant) {
        java.util.Set<String> found = new java.util.LinkedHashSet<>();
        batches.values().stream().filter(b -> b.tenant.equals(tenant)).forEach(b -> found.add(b.id));
        retries.values().stream().filter(r -> r.item.tenant().equals(tenant)).forEach(r -> found.add(r.item.batchId()));
        return found;
    }

    /** Images pending per tenant (tenants with none are absent). */
    Map<String, Long> pendingImagesByTenant() {
        return Map.copyOf(pendingImagesByTenant);
    }

    /** Images pending in all. */
    long pendingImages() {
        return pendingImages;
    }

    /** Jobs pending in all. */
    long pendingJobs() {
        return pendingJobs;
    }

    private Item pollRetry(Level level, long nowMs, Predicate<Item> allowed) {
        Retry first = null;
        for (Retry retry : level.retries) {
            if (retry.item.dueAtMs() > nowMs) {
                return null;
            }
            if (allowed.test(retry.item)) {
                first = retry;
                break;
            }
        }
        if (first == null) {
            return null;
        }
        level.retries.remove(first);
        retries.remove(first.item.key());
        // A retry is charged to its tenant's allowance, so a tenant with many failures does not
        // take more than its share through them.
        TenantQueue tenant = level.tenants.get(first.item.tenant());
        if (tenant != null) {
            tenant.deficit -= first.item.images();
        }
        return first.item;
    }

    private Item pollFresh(Level level, Predicate<Item> allowed) {
        int passedOver = 0;
        while (!level.ring.isEmpty()) {
            if (passedOver >= level.ring.size()) {
                return null; // every tenant of this level is at its cap
            }
            TenantQueue tenant = level.ring.peekFirst();
            if (!firstAllowedBatchAhead(tenant, allowed)) {
                // Capped: to the back of the ring without a quantum, so it saves up no burst meanwhile.
                tenant.inVisit = false;
                level.ring.addLast(level.ring.pollFirst());
                passedOver++;
                continue;
            }
            passedOver = 0;
            if (!tenant.inVisit) {
                tenant.deficit += quantum * Math.max(MIN_WEIGHT, weights.weight(tenant.name));
                tenant.inVisit = true;
            }
            BatchQueue batch = tenant.batches.peekFirst();
            Item next = batch.items.firstEntry().getValue();
            if (next.images() <= tenant.deficit) {
                tenant.deficit -= next.images();
                batch.items.pollFirstEntry();
                tenant.batches.pollFirst();
                if (batch.items.isEmpty()) {
                    batches.remove(batch.id);
                } else {
                    tenant.batches.addLast(batch);
                }
                if (tenant.batches.isEmpty()) {
                    level.ring.pollFirst();
                    level.tenants.remove(tenant.name);
                }
                return next;
            }
            tenant.inVisit = false;
            level.ring.addLast(level.ring.pollFirst());
        }
        return null;
    }

    /**
     * Turns {@code tenant}'s batches until one whose next job is allowed is first; false, with the
     * order as it was, when none is. A held batch so goes to the back of its tenant's turns.
     */
    private static boolean firstAllowedBatchAhead(TenantQueue tenant, Predicate<Item> allowed) {
        for (int i = 0; i < tenant.batches.size(); i++) {
            if (allowed.test(tenant.batches.peekFirst().items.firstEntry().getValue())) {
                return true;
            }
            tenant.batches.addLast(tenant.batches.pollFirst());
        }
        return false;
    }

    private void dropBatch(BatchQueue batch) {
        batches.remove(batch.id);
        Level level = levels[batch.priority.ordinal()];
        TenantQueue tenant = level.tenants.get(batch.tenant);
        if (tenant == null) {
            return;
        }
        tenant.batches.remove(batch);
        if (tenant.batches.isEmpty()) {
            level.ring.remove(tenant);
            level.tenants.remove(batch.tenant);
        }
    }

    private Item counted(Item item) {
        pendingImagesByTenant.computeIfPresent(item.tenant(), (t, images) -> images - item.images() <= 0 ? null : images - item.images());
        pendingImages -= item.images();
        pendingJobs--;
        return item;
    }

    private static final class Level {
        final ArrayDeque<TenantQueue> ring = new ArrayDeque<>();
        final Map<String, TenantQueue> tenants = new HashMap<>();
        final TreeSet<Retry> retries = new TreeSet<>(Comparator.comparingLong((Retry r) -> r.item.dueAtMs())
                .thenComparingLong(r -> r.sequence));
    }

    private static final class TenantQueue {
        final String name;
        final ArrayDeque<BatchQueue> batches = new ArrayDeque<>();
        double deficit;
        boolean inVisit;

        TenantQueue(String name) {
            this.name = name;
        }
    }

    private static final class BatchQueue {
        final String id;
        final String tenant;
        final Priority priority;
        final long sequence;
        final TreeMap<Integer, Item> items = new TreeMap<>();

        BatchQueue(String id, String tenant, Priority priority, long sequence) {
            this.id = id;
            this.tenant = tenant;
            this.priority = priority;
            this.sequence = sequence;
        }
    }

    private record Retry(Item item, long sequence) {
    }
}
