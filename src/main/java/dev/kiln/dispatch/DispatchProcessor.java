package dev.kiln.dispatch;

import dev.kiln.job.BatchCommand;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobError;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.RetryRequested;
import io.quarkus.logging.Log;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The dispatcher's one processor: it stages jobs from {@code kiln.items}, applies commands from
 * {@code kiln.control}, settles budget reservations from the jobs' final events and learns from
 * them which renders each tenant's cache holds ({@link KnownRenders}), and on a wall-clock tick
 * expires what passed its deadline and releases jobs to {@code kiln.jobs} while the window has
 * room and their batch's budget ({@link BudgetLedger}) holds one more. A job whose render its
 * tenant has stored is released as a likely cache hit: flagged, with a zero reservation and
 * without taking room in the window, since a hit takes no rate permit and no call. Every
 * store change and every record it forwards belong to the task's current exactly-once transaction, so a release and the removal
 * of the job from the pending store commit together or not at all.
 */
final class DispatchProcessor implements Processor<String, Object, String, Object> {

    private static final String CANCELLED_CODE = "cancelled";
    private static final String EXPIRED_CODE = "deadline_exceeded";
    /** The code of the items a batch's budget stopped (the same the budget guard's stops carry). */
    static final String BUDGET_CODE = "budget_exceeded";
    /** Why a budget stop cancels a job: the batch's or the tenant's month's, alike. */
    private static final JobError BUDGET_EXCEEDED = error(BUDGET_CODE, "cancelled: " + BUDGET_CODE);
    private static final JobError BATCH_CANCELLED = error(CANCELLED_CODE, "the batch was cancelled");

    private final DispatchTopology.Settings settings;
    private final TenantWeights weights;
    private final ReleaseGate gate;
    private final DispatchMetrics metrics;

    private ProcessorContext<String, Object> context;
    private KeyValueStore<String, PendingJob> pending;
    private KeyValueStore<String, BatchEntry> batches;
    private KeyValueStore<String, LeftJob> left;
    private KeyValueStore<String, BudgetLedger> budgets;
    private KnownRenders renders;
    private KeyValueStore<String, MonthLedger> months;
    /** The tenant months store in memory, read on every release of a tenant with a monthly budget. */
    private final Map<String, MonthLedger> monthLedgers = new HashMap<>();
    /** Tenants found at a release to have no room left this month for any job, stopped once the release is done. */
    private final Set<String> exhaustedTenants = new LinkedHashSet<>();
    /** The budgets store in memory, read on every release; a handful of batches have one at a time. */
    private final Map<String, BudgetLedger> ledgers = new HashMap<>();
    /**
     * Where each recently checked pending job's render would be known ({@link KnownRenders#entryOf}),
     * by pending key. A job's render key never changes, so entries need no invalidation; the map
     * is bounded, and a job pushed out is only computed again.
     */
    private final Map<String, Optional<String>> renderEntries = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Optional<String>> eldest) {
            return size() > RENDER_ENTRIES;
        }
    };
    private static final int RENDER_ENTRIES = 10_000;
    /** Batches found at a release to have no room left for any job, stopped once the release is done. */
    private final Set<String> exhausted = new LinkedHashSet<>();
    private Scheduler scheduler;
    /** Each tenant's last minute of releases, for its ipm_share_cap; in memory, see TenantRateCaps. */
    private TenantRateCaps caps;
    /** Batches with fresh pending jobs, by deadline (epoch ms). */
    private final TreeMap<Long, Set<String>> deadlines = new TreeMap<>();
    private long nextSequence;

    DispatchProcessor(DispatchTopology.Settings settings, TenantWeights weights, ReleaseGate gate, DispatchMetrics metrics) {
        this.settings = settings;
        this.weights = weights;
        this.gate = gate;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
        this.context = context;
        pending = context.getStateStore(DispatchTopology.PENDING_STORE);
        batches = context.getStateStore(DispatchTopology.BATCHES_STORE);
        left = context.getStateStore(DispatchTopology.RELEASED_STORE);
        budgets = context.getStateStore(DispatchTopology.BUDGETS_STORE);
        renders = new KnownRenders(context.getStateStore(DispatchTopology.RENDERS_STORE));
        months = context.getStateStore(DispatchTopology.TENANT_MONTHS_STORE);
        rebuild();
        context.schedule(settings.tick(), PunctuationType.WALL_CLOCK_TIME, this::tick);
        context.schedule(settings.purgeInterval(), PunctuationType.WALL_CLOCK_TIME, this::purge);
    }

    /** Rebuilds the in-memory order from the stores, which the changelogs restored. */
    private void rebuild() {
        scheduler = new Scheduler(weights, settings.quantumImages());
        // Not restored: after a restart each tenant's minute starts empty (TenantRateCaps says why that is acceptable).
        caps = new TenantRateCaps(weights, settings.rateIpm());
        deadlines.clear();
        ledgers.clear();
        try (KeyValueIterator<String, BudgetLedger> all = budgets.all()) {
            all.forEachRemaining(entry -> ledgers.put(entry.key, entry.value));
        }
        monthLedgers.clear();
        try (KeyValueIterator<String, MonthLedger> all = months.all()) {
            all.forEachRemaining(entry -> monthLedgers.put(entry.key, entry.value));
        }
        List<PendingJob> jobs = new ArrayList<>();
        try (KeyValueIterator<String, PendingJob> all = pending.all()) {
            all.forEachRemaining(entry -> jobs.add(entry.value));
        }
        jobs.sort(Comparator.comparingLong(PendingJob::batchSequence).thenComparingInt(p -> p.job().index()));
        for (PendingJob job : jobs) {
            scheduler.add(job.item());
            trackDeadline(job);
        }
        long maxSequence = -1;
        try (KeyValueIterator<String, BatchEntry> all = batches.all()) {
            while (all.hasNext()) {
                maxSequence = Math.max(maxSequence, all.next().value.sequence());
            }
        }
        nextSequence = maxSequence + 1;
        Log.infof("dispatcher task started with %d pending jobs (%d images)", scheduler.pendingJobs(), scheduler.pendingImages());
        publishBacklog();
    }

    @Override
    public void process(Record<String, Object> record) {
        long now = context.currentSystemTimeMs();
        switch (record.value()) {
            case JobsStaged staged -> stage(staged, record.timestamp(), now, traceparentOf(record));
            case CancelRequested cancel -> cancel(cancel, now);
            case RetryRequested retry -> retry(retry, now);
            case JobSettled deleted when deleted.batchDeleted() -> renders.forgetBatch(deleted.batchId());
            case JobSettled settled -> settle(settled, now);
            case null -> Log.debugf("skipping an empty record for %s", record.key());
            default -> Log.warnf("skipping a %s for %s", record.value().getClass().getSimpleName(), record.key());
        }
        publishBacklog();
    }

    @Override
    public void close() {
        gate.reset();
        metrics.reset();
    }

    private static String traceparentOf(Record<String, Object> record) {
        org.apache.kafka.common.header.Header header = record.headers().lastHeader(dev.kiln.messaging.TraceHeaders.TRACEPARENT);
        return header == null ? null : new String(header.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    private void stage(JobsStaged staged, long stagedAtMs, long now, String traceparent) {
        if (staged.batchId() == null || staged.tenant() == null) {
            Log.warnf("skipping staged jobs without batch or tenant");
            return;
        }
        BatchEntry batch = batches.get(staged.batchId());
        if (batch == null) {
            batch = new BatchEntry(staged.batchId(), staged.tenant(), staged.priority(), staged.deadline(),
                    nextSequence++, false, now);
        }
        batch = batch.withJobCost(staged.jobCostUsd());
        batches.put(staged.batchId(), batch.touched(now));
        if (staged.budgetUsd() != null && !ledgers.containsKey(staged.batchId())) {
            putLedger(staged.batchId(), BudgetLedger.opened(staged.budgetUsd(),
                    staged.jobCostUsd() == null ? 0 : staged.jobCostUsd()));
        }
        boolean expired = staged.deadline() != null && staged.deadline().toEpochMilli() <= now;
        for (RenderJobRequested job : staged.jobs()) {
            String key = StoreKeys.pending(staged.batchId(), job.index());
            if (pending.get(key) != null || left.get(StoreKeys.released(staged.batchId(), job.jobId())) != null) {
                continue; // staged twice: the first copy is the one that counts
            }
            PendingJob entry = new PendingJob(job, staged.priority(), staged.deadline(), batch.sequence(),
                    stagedAtMs, false, 0, traceparent);
            if (batch.cancelled()) {
                announceCancelled(job, BATCH_CANCELLED, now);
            } else if ((stoppedByBudget(staged.batchId()) || monthSpent(batch, now)) && !renders.likelyHit(job)) {
                announceCancelled(job, BUDGET_EXCEEDED, now);
            } else if (expired) {
                expire(key, entry, now);
            } else {
                pending.put(key, entry);
                scheduler.add(entry.item());
                trackDeadline(entry);
            }
        }
    }

    private void cancel(CancelRequested cancel, long now) {
        BatchEntry batch = batches.get(cancel.batchId());
        if (cancel.jobId() == null) {
            // Remembered even before any item arrived, so items staged later end cancelled too.
            BatchEntry marked = batch != null ? batch.cancelledAt(now)
                    : new BatchEntry(cancel.batchId(), cancel.tenant(), null, null, nextSequence++, true, now);
            batches.put(cancel.batchId(), marked);
        }
        JobError reason = cancel.reason() == null ? error(CANCELLED_CODE, "cancelled on request")
                : error(cancel.reason(), "cancelled: " + cancel.reason());
        for (KeyValue<String, PendingJob> entry : pendingOf(cancel.batchId())) {
            RenderJobRequested job = entry.value.job();
            if (cancel.jobId() != null && !cancel.jobId().equals(job.jobId())) {
                continue;
            }
            dropCancelled(entry.key, job, reason, now);
        }
    }

    /**
     * A client's retry sends each job on at its next attempt with a fresh round of attempts, at
     * once, and announces it {@code queued}. A worker's retry after a failed attempt names the
     * attempt and when it is due, and has announced {@code queued} itself. Either way the job
     * goes ahead of fresh work of its priority once due.
     */
    private void retry(RetryRequested retry, long now) {
        BatchEntry batch = batches.get(retry.batchId());
        if (batch == null && retry.job() != null) {
            // Released by something other than this dispatcher (a hand-made job, an older version):
            // the worker's copy is the job, and its batch is remembered from here on.
            batch = new BatchEntry(retry.batchId(), retry.tenant(), Priority.NORMAL, null, nextSequence++, false, now);
        }
        if (batch == null) {
            Log.infof("ignoring a retry for unknown batch %s", retry.batchId());
            return;
        }
        if (batch.cancelled()) {
            if (retry.job() != null) {
                // The worker announced it queued: it must end, and it ends as its batch did.
                announceCancelled(retry.job(), BATCH_CANCELLED, now);
            } else {
                Log.infof("ignoring a retry for cancelled batch %s", retry.batchId());
            }
            return;
        }
        batches.put(retry.batchId(), batch.touched(now));
        long due = retry.notBefore() == null ? 0 : retry.notBefore().toEpochMilli();
        for (String jobId : retry.jobIds()) {
            LeftJob gone = left.get(StoreKeys.released(retry.batchId(), jobId));
            RenderJobRequested job;
            if (retry.afterFailedAttempt()) {
                RenderJobRequested carried = retry.job() != null && retry.job().jobId().equals(jobId) ? retry.job() : null;
                if (carried == null && gone == null) {
                    Log.debugf("ignoring a retry of %s: the dispatcher does not hold it", jobId);
                    continue;
                }
                if (gone != null && !gone.expired() && gone.job().attempt() >= retry.attempt()) {
                    // That attempt was released already: a worker that failed it again after a
                    // redelivery must not have it released twice.
                    Log.debugf("ignoring a repeated retry of %s at attempt %d", jobId, retry.attempt());
                    continue;
                }
                job = carried != null ? carried : gone.job().withAttempt(retry.attempt());
                // The failed attempt ended: its reservation goes back, and the retry reserves anew when released.
                settleReservation(retry.batchId(), jobId, retry.attempt() - 1, 0);
                MonthLedger month = month(batch.tenant(), now);
                MonthLedger back = month.ended(jobId, retry.attempt() - 1);
                if (back != month) {
                    putMonth(batch.tenant(), back);
                }
            } else if (gone == null) {
                Log.debugf("ignoring a retry of %s: the dispatcher does not hold it", jobId);
                continue;
            } else {
                job = gone.job().nextRound();
            }
            String key = StoreKeys.pending(retry.batchId(), job.index());
            if (pending.get(key) != null) {
                continue; // already waiting: a second retry changes nothing
            }
            Priority priority = gone != null ? gone.priority() : batch.priority() != null ? batch.priority() : Priority.NORMAL;
            long sequence = gone != null ? gone.batchSequence() : batch.sequence();
            PendingJob entry = new PendingJob(job, priority, null, sequence, now, true, due);
            pending.put(key, entry);
            scheduler.add(entry.item());
            if (!retry.afterFailedAttempt()) {
                publishStatus(job, JobState.QUEUED, null, now);
            }
        }
    }

    private void tick(long now) {
        expireDue(now);
        release(now);
        publishBacklog();
    }

    private void expireDue(long now) {
        while (!deadlines.isEmpty() && deadlines.firstKey() <= now) {
            for (String batchId : deadlines.pollFirstEntry().getValue()) {
                for (KeyValue<String, PendingJob> entry : pendingOf(batchId)) {
                    if (!entry.value.retry()) {
                        pending.delete(entry.key);
                        scheduler.remove(batchId, entry.value.job().index());
                        expire(entry.key, entry.value, now);
                    }
                }
            }
        }
    }

    private void expire(String key, PendingJob entry, long now) {
        RenderJobRequested job = entry.job();
        left.put(StoreKeys.released(job.batchId(), job.jobId()),
                new LeftJob(job, entry.priority(), entry.batchSequence(), now, true));
        publishStatus(job, JobState.EXPIRED, error(EXPIRED_CODE, "not started by the batch's deadline " + entry.deadline()), now);
        metrics.expired(job.tenant());
    }

    /**
     * Releases jobs in the scheduler's order. A likely cache hit goes without room in the window,
     * a check of its tenant's rate cap or a budget check (it reserves zero); any other job needs
     * all three. At most {@code maxReleasesPerTick} jobs go in one tick, hits included, which
     * bounds one transaction.
     */
    private void release(long now) {
        int room = Math.min(gate.room(now), settings.maxReleasesPerTick());
        metrics.window(gate.lastTarget(), gate.lastUnstarted());
        Map<String, Boolean> hits = new HashMap<>();
        int windowed = 0;
        for (int released = 0; released < settings.maxReleasesPerTick(); released++) {
            boolean windowFull = windowed >= room;
            // With the window full only likely hits may go, out of turn, so that the fair order of
            // the rest is left as it was.
            Scheduler.Item item = windowFull ? scheduler.pollOutOfTurn(now, next -> likelyHit(next, hits))
                    : scheduler.poll(now, next -> likelyHit(next, hits)
                    || (caps.allows(next.tenant(), next.images(), now) && affordable(next, now)));
            if (item == null) {
                break;
            }
            String key = item.key();
            PendingJob entry = pending.get(key);
            if (entry == null) {
                Log.warnf("pending job %s was in the schedule but not in the store", key);
                continue;
            }
            pending.delete(key);
            boolean hit = likelyHit(item, hits);
            RenderJobRequested job = entry.job();
            RenderJobRequested sent = job.withCacheHit(hit);
            // A re-released job gets a new event id: consumers that drop repeated ids must not drop it.
            String id = entry.retry() ? job.jobId() + "/" + job.attempt() + "/" + now : job.jobId() + "/" + job.attempt();
            org.apache.kafka.common.header.Headers headers =
                    CloudEventHeaders.of(id, EventTypes.JOB_REQUESTED, job.jobId(), Instant.ofEpochMilli(now));
            if (entry.traceparent() != null) {
                // The release continues the trace of the POST that staged the job, however much later.
                headers.add(dev.kiln.messaging.TraceHeaders.TRACEPARENT,
                        entry.traceparent().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            context.forward(new Record<String, Object>(job.jobId(), sent, now, headers), DispatchTopology.JOBS_SINK);
            // Kept unflagged: a retry is decided afresh when it is released.
            String leftKey = StoreKeys.released(job.batchId(), job.jobId());
            LeftJob before = entry.retry() ? left.get(leftKey) : null;
            left.put(leftKey, new LeftJob(job, entry.priority(), entry.batchSequence(), now, false,
                    before == null ? null : before.paidAttempt()));
            metrics.released(job.tenant(), entry.priority(), now - entry.stagedAtMs());
            BudgetLedger ledger = ledgers.get(job.batchId());
            if (hit) {
                // Reserved at zero (nothing of a month either), so that a render after all (its objects
                // gone) still settles its cost.
                if (ledger != null) {
                    putLedger(job.batchId(), ledger.reserved(job.jobId(), job.attempt(), 0));
                }
                continue;
            }
            if (weights.monthlyBudgetUsd(job.tenant()) != null) {
                MonthLedger month = month(job.tenant(), now);
                putMonth(job.tenant(), month.reserved(job.jobId(), job.attempt(), monthJobCost(job.batchId(), month)));
            }
            windowed++;
            gate.released(job.jobId(), now);
            caps.released(item.tenant(), item.images(), now);
            if (ledger != null) {
                putLedger(job.batchId(), ledger.reserved(job.jobId(), job.attempt()));
            }
        }
        stopExhausted(now);
        stopExhaustedTenants(now);
    }

    /**
     * Whether {@code next} is a likely render-cache hit; decided once per job and tick. Its render
     * key is kept across ticks ({@link #renderEntries}), so a job the full window holds back costs
     * one store read a tick, not a parse and a hash.
     */
    private boolean likelyHit(Scheduler.Item next, Map<String, Boolean> decided) {
        return decided.computeIfAbsent(next.key(), key -> {
            Optional<String> entry = renderEntries.get(key);
            if (entry == null) {
                PendingJob job = pending.get(key);
                if (job == null) {
                    return false;
                }
                entry = renders.entryOf(job.job());
                renderEntries.put(key, entry);
            }
            return entry.map(renders::holds).orElse(false);
        });
    }

    /** Whether {@code batchId}'s budget stopped it: its pending jobs that are not likely hits were cancelled. */
    private boolean stoppedByBudget(String batchId) {
        BudgetLedger ledger = ledgers.get(batchId);
        return ledger != null && ledger.stopped();
    }

    /**
     * Whether {@code next}'s batch can pay for one more job now. A batch that cannot is held while
     * its reservations are outstanding (they may settle below their estimates) and noted for a
     * stop when nothing of it can ever fit.
     */
    private boolean affordable(Scheduler.Item next, long now) {
        BudgetLedger ledger = ledgers.get(next.batchId());
        if (ledger != null && !ledger.fitsOneMore()) {
            if (ledger.exhausted()) {
                exhausted.add(next.batchId());
            }
            return false;
        }
        Double monthly = weights.monthlyBudgetUsd(next.tenant());
        if (monthly == null) {
            return true;
        }
        MonthLedger month = month(next.tenant(), now);
        double jobCost = monthJobCost(next.batchId(), month);
        if (month.fits(monthly, jobCost)) {
            return true;
        }
        if (month.exhausted(monthly, jobCost)) {
            exhaustedTenants.add(next.tenant());
        }
        return false;
    }

    /**
     * What a release of {@code batchId} reserves of its tenant's month: the batch's estimate of its
     * dearest job, else (a batch intake gave none, accepted before the tenant had a budget) the
     * dearest job the tenant paid this month.
     */
    private double monthJobCost(String batchId, MonthLedger month) {
        BatchEntry batch = batches.get(batchId);
        if (batch != null && batch.jobCostUsd() != null) {
            return batch.jobCostUsd();
        }
        BudgetLedger ledger = ledgers.get(batchId);
        return ledger != null ? ledger.jobCostUsd() : month.dearestJob();
    }

    /** {@code tenant}'s ledger in the month of {@code now} (UTC): a new month starts its figures from zero. */
    private MonthLedger month(String tenant, long now) {
        String current = MonthLedger.monthOf(now);
        MonthLedger ledger = monthLedgers.get(tenant);
        return ledger == null ? MonthLedger.empty(current) : ledger.in(current);
    }

    private void putMonth(String tenant, MonthLedger ledger) {
        months.put(tenant, ledger);
        monthLedgers.put(tenant, ledger);
    }

    /** Whether {@code batch}'s tenant has a monthly budget that no job of the batch can fit any more this month. */
    private boolean monthSpent(BatchEntry batch, long now) {
        Double monthly = weights.monthlyBudgetUsd(batch.tenant());
        if (monthly == null) {
            return false;
        }
        MonthLedger month = month(batch.tenant(), now);
        return month.exhausted(monthly, monthJobCost(batch.batchId(), month));
    }

    /** A job of a batch with a budget ended: its reservation is settled, and the batch stopped if that left no room. */
    private void settle(JobSettled settled, long now) {
        renders.learn(settled);
        settleMonth(settled, now);
        if (settleReservation(settled.batchId(), settled.jobId(), settled.attempt(), settled.costUsd())) {
            BudgetLedger ledger = ledgers.get(settled.batchId());
            if (ledger.exhausted() && scheduler.holds(settled.batchId())) {
                exhausted.add(settled.batchId());
                stopExhausted(now);
            }
        }
    }

    /**
     * Settles the job's reservation in its tenant's month, counting a success's cost and images;
     * when that leaves no room for a job of the tenant's, its pending jobs are stopped.
     */
    private void settleMonth(JobSettled settled, long now) {
        String tenant = settled.tenant();
        if (tenant == null) {
            BatchEntry batch = batches.get(settled.batchId());
            tenant = batch == null ? null : batch.tenant();
        }
        if (tenant == null || settled.jobId() == null) {
            return;
        }
        MonthLedger before = month(tenant, now);
        MonthLedger after = before.ended(settled.jobId(), settled.attempt());
        boolean paid = false;
        if (settled.costUsd() > 0) {
            String leftKey = StoreKeys.released(settled.batchId(), settled.jobId());
            LeftJob released = left.get(leftKey);
            // Counted once per attempt; a job this dispatcher never released is not its to count.
            if (released != null && released.unpaid(settled.attempt())) {
                left.put(leftKey, released.paidAt(settled.attempt()));
                after = after.paid(settled.costUsd(), settled.images());
                paid = true;
            }
        }
        if (after == before && before == monthLedgers.get(tenant)) {
            return;
        }
        putMonth(tenant, after);
        if (paid && weights.monthlyBudgetUsd(tenant) != null) {
            exhaustedTenants.add(tenant);
            stopExhaustedTenants(now);
        }
    }

    /**
     * Stops, for every noted tenant, each of its batches whose next job can never fit the month's
     * budget: the batch's pending jobs that are not likely cache hits end {@code cancelled} /
     * {@code budget_exceeded}, and so does any such job staged later this month.
     */
    private void stopExhaustedTenants(long now) {
        for (String tenant : exhaustedTenants) {
            Double monthly = weights.monthlyBudgetUsd(tenant);
            if (monthly == null) {
                continue;
            }
            MonthLedger month = month(tenant, now);
            for (String batchId : scheduler.batchesOf(tenant)) {
                BatchEntry batch = batches.get(batchId);
                if (batch == null) {
                    continue;
                }
                double jobCost = monthJobCost(batch.batchId(), month);
                if (!month.exhausted(monthly, jobCost)) {
                    continue;
                }
                Log.infof("tenant %s: spent $%.6f in %s, reserved $%.6f; a job of batch %s ($%.6f) can never fit its monthly budget of $%.6f; stopping it",
                        tenant, month.spent(), month.month(), month.reservedUsd(), batch.batchId(), jobCost, monthly);
                cancelPendingButLikelyHits(batch.batchId(), BUDGET_EXCEEDED, now);
            }
        }
        exhaustedTenants.clear();
    }

    /** Settles {@code jobId}'s reservation up to {@code attempt}; false when it held none. */
    private boolean settleReservation(String batchId, String jobId, int attempt, double costUsd) {
        BudgetLedger ledger = ledgers.get(batchId);
        if (ledger == null) {
            return false;
        }
        BudgetLedger next = ledger.settled(jobId, attempt, costUsd);
        if (next == ledger) {
            return false;
        }
        putLedger(batchId, next);
        return true;
    }

    /**
     * Stops every batch noted as exhausted: its pending items that are not likely cache hits end
     * {@code cancelled} with code {@code budget_exceeded}, as a cancel ends them, and so do such
     * items staged or retried later. Its likely hits cost nothing and go on being released. Its
     * released jobs were reserved within the budget, so they run and are kept.
     */
    private void stopExhausted(long now) {
        for (String batchId : exhausted) {
            BudgetLedger ledger = ledgers.get(batchId);
            BatchEntry batch = batches.get(batchId);
            if (ledger == null || batch == null) {
                continue;
            }
            if (!ledger.stopped()) {
                Log.infof("batch %s: spent $%.6f, reserved $%.6f; its next job ($%.6f) can never fit its budget of $%.6f; stopping it",
                        batchId, ledger.spentUsd(), ledger.reservedUsd(), ledger.jobCostUsd(), ledger.budgetUsd());
                putLedger(batchId, ledger.stoppedNow());
            }
            cancelPendingButLikelyHits(batchId, BUDGET_EXCEEDED, now);
        }
        exhausted.clear();
    }

    /**
     * Ends {@code batchId}'s pending items {@code cancelled} with {@code reason}, but for likely
     * cache hits: they cost nothing, so a budget stop lets them go on.
     */
    private void cancelPendingButLikelyHits(String batchId, JobError reason, long now) {
        for (KeyValue<String, PendingJob> entry : pendingOf(batchId)) {
            RenderJobRequested job = entry.value.job();
            if (renders.likelyHit(job)) {
                continue;
            }
            dropCancelled(entry.key, job, reason, now);
        }
    }

    /** A pending job is cancelled before release: it leaves the backlog and its turn, and ends. */
    private void dropCancelled(String pendingKey, RenderJobRequested job, JobError reason, long now) {
        pending.delete(pendingKey);
        scheduler.remove(job.batchId(), job.index());
        announceCancelled(job, reason, now);
    }

    /** Announces {@code job} {@code cancelled} for {@code reason}: never released, so never paid for. */
    private void announceCancelled(RenderJobRequested job, JobError reason, long now) {
        publishStatus(job, JobState.CANCELLED, reason, now);
        metrics.cancelled(job.tenant());
    }

    private void putLedger(String batchId, BudgetLedger ledger) {
        budgets.put(batchId, ledger);
        ledgers.put(batchId, ledger);
    }

    /** Forgets batches that have nothing pending and were last touched before the retention. */
    private void purge(long now) {
        long before = now - settings.retention().toMillis();
        List<String> old = new ArrayList<>();
        try (KeyValueIterator<String, BatchEntry> all = batches.all()) {
            all.forEachRemaining(entry -> {
                if (entry.value.touchedAtMs() < before && !scheduler.holds(entry.key)) {
                    old.add(entry.key);
                }
            });
        }
        for (String batchId : old) {
            List<String> keys = new ArrayList<>();
            try (KeyValueIterator<String, LeftJob> jobs = left.prefixScan(StoreKeys.batchPrefix(batchId), Serdes.String().serializer())) {
                jobs.forEachRemaining(entry -> keys.add(entry.key));
            }
            keys.forEach(left::delete);
            batches.delete(batchId);
            if (ledgers.remove(batchId) != null) {
                budgets.delete(batchId);
            }
        }
        if (!old.isEmpty()) {
            Log.infof("forgot %d batches past their retention", old.size());
        }
    }

    private List<KeyValue<String, PendingJob>> pendingOf(String batchId) {
        List<KeyValue<String, PendingJob>> jobs = new ArrayList<>();
        try (KeyValueIterator<String, PendingJob> all = pending.prefixScan(StoreKeys.batchPrefix(batchId), Serdes.String().serializer())) {
            all.forEachRemaining(jobs::add);
        }
        return jobs;
    }

    private void trackDeadline(PendingJob job) {
        if (!job.retry() && job.deadline() != null) {
            deadlines.computeIfAbsent(job.deadline().toEpochMilli(), d -> new HashSet<>()).add(job.job().batchId());
        }
    }

    private void publishStatus(RenderJobRequested job, JobState state, JobError error, long now) {
        Instant at = Instant.ofEpochMilli(now);
        JobStatusChanged event = new JobStatusChanged(job.jobId(), job.batchId(), job.tenant(), job.itemId(),
                job.index(), state, job.attempt(), null, error, null, at);
        context.forward(new Record<String, Object>(job.batchId(), event, now,
                CloudEventHeaders.of(UUID.randomUUID().toString(), event.eventType(), job.jobId(), at)),
                DispatchTopology.STATUS_SINK);
    }

    private void publishBacklog() {
        metrics.backlog(scheduler.pendingImagesByTenant(), scheduler.pendingImages(), scheduler.pendingJobs());
    }

    private static JobError error(String code, String message) {
        return new JobError(code, message, false);
    }
}
