package dev.kiln.budget;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.BatchCommand;
import dev.kiln.job.BatchCreated;
import dev.kiln.job.CancelRequested;
import dev.kiln.job.EventTypes;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.messaging.KilnJson;
import io.quarkus.logging.Log;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Folds {@code kiln.status} into a ledger per batch, stops a batch that has a budget before its
 * next job could pass it, and hands every change of a batch's spend on to its tenant's month
 * ledger ({@link TenantBudgetGuard}).
 *
 * <p>A job that starts ({@code running}) reserves the batch's upper estimate of one job; when it
 * ends, the reservation is released and, if it succeeded, its actual cost (from the provider's
 * usage) is added to what the batch spent. After every change, if spent + reserved + one more
 * job's estimate would pass the budget while some job has not started, the guard publishes one
 * {@link CancelRequested} with reason {@code budget_exceeded} on {@code kiln.control}: the
 * dispatcher ends the pending items {@code cancelled}, and workers skip the released ones they
 * have not started. Jobs already running finish and are paid, which is the overspend bound: the
 * jobs that start between the start that exhausted the budget and the moment the stop reaches the
 * workers. A job served from the render cache never runs, so it reserves and spends nothing.
 */
final class BudgetGuard implements Processor<String, byte[], String, GuardOutput> {

    static final String REASON = "budget_exceeded";
    private static final ObjectMapper JSON = KilnJson.MAPPER;

    private final String batchesStore;
    private final String jobsStore;
    private KeyValueStore<String, byte[]> batches;
    private KeyValueStore<String, byte[]> jobs;
    private ProcessorContext<String, GuardOutput> context;

    BudgetGuard(String batchesStore, String jobsStore) {
        this.batchesStore = batchesStore;
        this.jobsStore = jobsStore;
    }

    @Override
    public void init(ProcessorContext<String, GuardOutput> context) {
        this.context = context;
        batches = context.getStateStore(batchesStore);
        jobs = context.getStateStore(jobsStore);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        String type = header(record.headers(), "ce_type");
        if (type == null || record.value() == null || record.key() == null) {
            return;
        }
        try {
            Instant at = Instant.ofEpochMilli(record.timestamp());
            if (type.equals(EventTypes.BATCH_CREATED)) {
                onBatchCreated(JSON.readValue(record.value(), BatchCreated.class), at);
            } else if (type.startsWith(EventTypes.JOB_PREFIX) && batches.get(record.key()) != null) {
                onJobChanged(JSON.readValue(record.value(), JobStatusChanged.class), at);
            } else if (type.equals(EventTypes.job(JobState.SUCCEEDED))) {
                onUnledgeredSuccess(JSON.readValue(record.value(), JobStatusChanged.class), at);
            } else if (type.equals(EventTypes.BATCH_COMPLETED)) {
                forgetJobs(record.key(), at);
            } else if (type.equals(EventTypes.BATCH_DELETED)) {
                forget(record.key(), at);
            }
        } catch (IOException | RuntimeException e) {
            // One unreadable event must not stop the guard for every batch.
            Log.warnf("budget guard: skipping unreadable %s event for %s: %s", type, record.key(), e.getMessage());
        }
    }

    private void onBatchCreated(BatchCreated event, Instant at) throws IOException {
        if (batches.get(event.batchId()) != null) {
            return;
        }
        double jobCost = event.jobCostUsd() == null ? 0 : event.jobCostUsd();
        BatchBudget budget = BatchBudget.opened(event.tenant(), event.budgetUsd(), jobCost, event.items());
        decide(event.batchId(), budget);
        tellTenant(event.batchId(), budget, event.createdAt() != null ? event.createdAt() : at, 0, 0, 0);
    }

    private void onJobChanged(JobStatusChanged event, Instant at) throws IOException {
        BatchBudget budget = JSON.readValue(batches.get(event.batchId()), BatchBudget.class);
        String jobKey = event.batchId() + "/" + event.index();
        byte[] known = jobs.get(jobKey);
        BudgetedJob previous = known == null ? null : JSON.readValue(known, BudgetedJob.class);
        // No entry: still queued, or ended in a batch whose entries were forgotten at its end.
        JobState from = previous != null ? previous.state()
                : budget.ended() >= budget.items() ? JobState.FAILED : JobState.QUEUED;
        if (previous != null && !from.acceptsMove(previous.attempt(), event.state(), event.attempt())) {
            return;
        }
        if (from == event.state()) {
            return;
        }
        double spent = budget.spent();
        double reserved = budget.reserved();
        int ended = budget.ended();
        int running = budget.running();
        boolean stopped = budget.stopped();
        if (from == JobState.RUNNING) {
            reserved -= previous.reserved();
            running--;
        }
        if (from.isTerminal()) {
            ended--;
        }
        double holds = 0;
        double cost = 0;
        long images = 0;
        switch (event.state()) {
            case RUNNING -> {
                holds = budget.jobCost();
                reserved += holds;
                running++;
            }
            case SUCCEEDED -> {
                cost = event.usage() == null ? 0 : event.usage().costUsd();
                images = event.usage() == null || event.servedFromCache() ? 0 : event.usage().images();
                spent += cost;
                ended++;
            }
            case FAILED, CANCELLED, EXPIRED -> ended++;
            case QUEUED -> {
                if (from.isTerminal()) {
                    // A client's retry brings ended jobs back: the budget still holds for them.
                    stopped = false;
                }
            }
        }
        jobs.put(jobKey, JSON.writeValueAsBytes(new BudgetedJob(event.state(), event.attempt(), holds)));
        BatchBudget next = budget.with(spent, Math.max(0, reserved), Math.max(0, ended), Math.max(0, running), stopped);
        decide(event.batchId(), next);
        double reservedChange = next.reserved() - budget.reserved();
        if (cost != 0 || images != 0 || reservedChange != 0 || next.pending() != budget.pending()) {
            // Most events (a queued job failing, say) change nothing of the tenant's month: no record for them.
            tellTenant(event.batchId(), next, event.at() != null ? event.at() : at, cost, images, reservedChange);
        }
    }

    /**
     * A render that ended after its batch's ledger went: a batch deleted while its renders ran (they
     * finish, and are paid), or one accepted before the guard kept a ledger of every batch. Its
     * cost still belongs to the tenant's month; were it dropped, deleting batches mid-render would
     * spend past {@code monthly_budget_usd} without limit.
     */
    private void onUnledgeredSuccess(JobStatusChanged event, Instant at) {
        if (event.tenant() == null || event.usage() == null || event.usage().costUsd() <= 0) {
            return;
        }
        long images = event.servedFromCache() ? 0 : event.usage().images();
        TenantSpend spend = new TenantSpend(event.tenant(), event.batchId(),
                TenantMonth.monthOf(event.at() != null ? event.at() : at), event.usage().costUsd(), images, 0, 0, false);
        context.forward(new Record<>(event.tenant(), GuardOutput.spend(spend), at.toEpochMilli(), new RecordHeaders()));
    }

    /** Keeps {@code budget} and stops its batch when the next job could pass it. */
    private void decide(String batchId, BatchBudget budget) throws IOException {
        BatchBudget next = budget;
        if (!budget.stopped() && budget.nextWouldPass()) {
            next = budget.with(budget.spent(), budget.reserved(), budget.ended(), budget.running(), true);
            Instant now = Instant.now();
            CancelRequested stop = new CancelRequested(batchId, budget.tenant(), null, REASON, now);
            Log.infof("batch %s: spent $%.6f, reserved $%.6f for %d running; the next job ($%.6f) would pass its budget of $%.6f; stopping it",
                    batchId, budget.spent(), budget.reserved(), budget.running(), budget.jobCost(), budget.budget());
            context.forward(stop(stop));
        }
        batches.put(batchId, JSON.writeValueAsBytes(next));
    }

    /** The record that stops a batch on {@code kiln.control}; the tenant's guard sends the same. */
    static Record<String, GuardOutput> stop(CancelRequested stop) throws IOException {
        Instant at = stop.requestedAt();
        return new Record<>(stop.batchId(), GuardOutput.command(JSON.writeValueAsBytes((BatchCommand) stop)),
                at.toEpochMilli(), headers(stop.batchId() + "/" + stop.reason() + "/" + at.toEpochMilli(),
                BatchCommand.CANCEL_TYPE, stop.batchId(), at));
    }

    /** Hands a change of the batch's spend, reservations or pending work to its tenant's month. */
    private void tellTenant(String batchId, BatchBudget budget, Instant at, double cost, long images, double reserved) {
        TenantSpend spend = new TenantSpend(budget.tenant(), batchId, TenantMonth.monthOf(at), cost, images, reserved,
                budget.jobCost(), budget.pending());
        context.forward(new Record<>(budget.tenant(), GuardOutput.spend(spend), at.toEpochMilli(), new RecordHeaders()));
    }

    /**
     * The batch ended: its jobs' entries go, its ledger stays (small) so that a client's retry of
     * its items is still held to the budget and counted in its tenant's month. A job with no entry
     * then counts as ended.
     */
    private void forgetJobs(String batchId, Instant at) throws IOException {
        byte[] known = batches.get(batchId);
        if (known == null) {
            return;
        }
        deleteJobs(batchId);
        BatchBudget budget = JSON.readValue(known, BatchBudget.class);
        BatchBudget ended = budget.with(budget.spent(), 0, budget.items(), 0, budget.stopped());
        batches.put(batchId, JSON.writeValueAsBytes(ended));
        tellTenant(batchId, ended, at, 0, 0, -budget.reserved());
    }

    /** The batch was deleted: nothing of it can come back, so its ledger goes too (its spend stays in the month). */
    private void forget(String batchId, Instant at) throws IOException {
        byte[] known = batches.get(batchId);
        if (known == null) {
            return;
        }
        deleteJobs(batchId);
        batches.delete(batchId);
        BatchBudget budget = JSON.readValue(known, BatchBudget.class);
        tellTenant(batchId, budget.with(budget.spent(), 0, budget.items(), 0, budget.stopped()), at, 0, 0,
                -budget.reserved());
    }

    private void deleteJobs(String batchId) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> entries = jobs.prefixScan(batchId + "/", Serdes.String().serializer())) {
            while (entries.hasNext()) {
                KeyValue<String, byte[]> entry = entries.next();
                keys.add(entry.key);
            }
        }
        keys.forEach(jobs::delete);
    }

    private static Headers headers(String id, String type, String subject, Instant time) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8));
        headers.add("ce_id", id.getBytes(StandardCharsets.UTF_8));
        headers.add("ce_source", EventTypes.SOURCE.getBytes(StandardCharsets.UTF_8));
        headers.add("ce_type", type.getBytes(StandardCharsets.UTF_8));
        headers.add("ce_subject", subject.getBytes(StandardCharsets.UTF_8));
        headers.add("ce_time", time.toString().getBytes(StandardCharsets.UTF_8));
        return headers;
    }

    private static String header(Headers headers, String name) {
        var header = headers.lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
