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
 * Folds {@code kiln.status} into a ledger per batch and hands every change of a batch's spend and
 * reservations on to its tenant's month ledger ({@link TenantBudgetGuard}), which holds the
 * tenant's {@code monthly_budget_usd}. A batch's own {@code budget_usd} is the dispatcher's: it
 * reserves before release and stops the batch itself ({@code dev.kiln.dispatch.BudgetLedger}).
 *
 * <p>A job that starts ({@code running}) reserves the batch's upper estimate of one job; when it
 * ends, the reservation is released and, if it succeeded, its actual cost (from the provider's
 * usage) is added to what the batch spent. A job served from the render cache never runs, so it
 * reserves and spends nothing.
 */
final class BudgetGuard implements Processor<String, byte[], String, TenantSpend> {

    static final String REASON = "budget_exceeded";
    private static final ObjectMapper JSON = KilnJson.MAPPER;

    private final String batchesStore;
    private final String jobsStore;
    private KeyValueStore<String, byte[]> batches;
    private KeyValueStore<String, byte[]> jobs;
    private ProcessorContext<String, TenantSpend> context;

    BudgetGuard(String batchesStore, String jobsStore) {
        this.batchesStore = batchesStore;
        this.jobsStore = jobsStore;
    }

    @Override
    public void init(ProcessorContext<String, TenantSpend> context) {
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
        BatchBudget budget = BatchBudget.opened(event.tenant(), jobCost, event.items());
        batches.put(event.batchId(), JSON.writeValueAsBytes(budget));
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
                // Back to waiting (a retry): it holds nothing until it starts again.
            }
        }
        jobs.put(jobKey, JSON.writeValueAsBytes(new BudgetedJob(event.state(), event.attempt(), holds)));
        BatchBudget next = budget.with(spent, Math.max(0, reserved), Math.max(0, ended), Math.max(0, running));
        batches.put(event.batchId(), JSON.writeValueAsBytes(next));
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
        context.forward(new Record<>(event.tenant(), spend, at.toEpochMilli(), new RecordHeaders()));
    }

    /** The record that stops a batch on {@code kiln.control}, as the tenant's guard sends it. */
    static Record<String, byte[]> stop(CancelRequested stop) throws IOException {
        Instant at = stop.requestedAt();
        return new Record<>(stop.batchId(), JSON.writeValueAsBytes((BatchCommand) stop),
                at.toEpochMilli(), headers(stop.batchId() + "/" + stop.reason() + "/" + at.toEpochMilli(),
                BatchCommand.CANCEL_TYPE, stop.batchId(), at));
    }

    /** Hands a change of the batch's spend, reservations or pending work to its tenant's month. */
    private void tellTenant(String batchId, BatchBudget budget, Instant at, double cost, long images, double reserved) {
        TenantSpend spend = new TenantSpend(budget.tenant(), batchId, TenantMonth.monthOf(at), cost, images, reserved,
                budget.jobCost(), budget.pending());
        context.forward(new Record<>(budget.tenant(), spend, at.toEpochMilli(), new RecordHeaders()));
    }

    /**
     * The batch ended: its jobs' entries go, its ledger stays (small) so that a client's retry of
     * its items is still counted in its tenant's month. A job with no entry
     * then counts as ended.
     */
    private void forgetJobs(String batchId, Instant at) throws IOException {
        byte[] known = batches.get(batchId);
        if (known == null) {
            return;
        }
        deleteJobs(batchId);
        BatchBudget budget = JSON.readValue(known, BatchBudget.class);
        BatchBudget ended = budget.with(budget.spent(), 0, budget.items(), 0);
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
        tellTenant(batchId, budget.with(budget.spent(), 0, budget.items(), 0), at, 0, 0,
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
