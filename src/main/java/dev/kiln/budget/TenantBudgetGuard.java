package dev.kiln.budget;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.CancelRequested;
import dev.kiln.messaging.KilnJson;
import io.quarkus.logging.Log;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Folds the batches' spend changes ({@link TenantSpend}, keyed by tenant) into a ledger per tenant
 * and calendar month (UTC), and holds the tenant to its {@code monthly_budget_usd}: a batch of the
 * tenant whose next job could take the month's spend plus what the running jobs reserve past the
 * budget is stopped, with one {@link CancelRequested} of reason {@code budget_exceeded}, exactly as
 * a batch's own budget stops it. A batch created when the month is spent is stopped at once.
 *
 * <p>The monthly budget is read from the tenant's quotas at each change, so an admin's change
 * applies from the tenant's next event on. Months are those of the events: the first event of a
 * new month starts the ledger's figures from zero; reservations carry over.
 */
final class TenantBudgetGuard implements Processor<String, byte[], String, byte[]> {

    private static final ObjectMapper JSON = KilnJson.MAPPER;

    private final String store;
    private final Function<String, BigDecimal> monthlyBudget;
    private KeyValueStore<String, byte[]> tenants;
    private ProcessorContext<String, byte[]> context;

    /**
     * @param store         the tenants' ledgers
     * @param monthlyBudget a tenant's {@code monthly_budget_usd}, null when it has none
     */
    TenantBudgetGuard(String store, Function<String, BigDecimal> monthlyBudget) {
        this.store = store;
        this.monthlyBudget = monthlyBudget;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        tenants = context.getStateStore(store);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        if (record.key() == null || record.value() == null) {
            return;
        }
        try {
            TenantSpend change = JSON.readValue(record.value(), TenantSpend.class);
            byte[] known = tenants.get(record.key());
            TenantMonth ledger = known == null ? TenantMonth.empty(change.month()) : JSON.readValue(known, TenantMonth.class);
            BigDecimal budget = monthlyBudget.apply(record.key());
            TenantMonth applied = apply(ledger, change);
            if (budget == null && !applied.open().isEmpty()) {
                // Without a monthly budget nothing is ever stopped, so the open batches are not kept:
                // the ledger, rewritten on every change and read back by every api replica, stays a
                // few numbers however many batches the tenant runs. They are listed again, batch by
                // batch, with their next change once the tenant has a budget.
                applied = new TenantMonth(applied.month(), applied.spent(), applied.images(), applied.reserved(),
                        applied.dearestJob(), new java.util.TreeMap<>());
            }
            TenantMonth next = decide(record.key(), applied, budget);
            tenants.put(record.key(), JSON.writeValueAsBytes(next));
        } catch (IOException | RuntimeException e) {
            // One unreadable change must not stop the guard for every tenant.
            Log.warnf("budget guard: skipping unreadable spend change of tenant %s: %s", record.key(), e.getMessage());
        }
    }

    static TenantMonth apply(TenantMonth ledger, TenantSpend change) {
        String month = ledger.month();
        double spent = ledger.spent();
        long images = ledger.images();
        double dearest = ledger.dearestJob();
        int order = change.month().compareTo(month);
        if (order > 0) {
            month = change.month();
            spent = 0;
            images = 0;
            dearest = 0;
        }
        if (order >= 0) {
            // A late event of an earlier month changes nothing of this month's figures.
            spent += change.spent();
            images += change.images();
            if (change.images() > 0) {
                dearest = Math.max(dearest, change.spent());
            }
        }
        Map<String, TenantMonth.OpenBatch> open = new TreeMap<>(ledger.open());
        if (change.pending()) {
            TenantMonth.OpenBatch batch = open.get(change.batchId());
            open.put(change.batchId(), new TenantMonth.OpenBatch(change.jobCost(), batch != null && batch.stopped()));
        } else {
            open.remove(change.batchId());
        }
        return new TenantMonth(month, spent, images, Math.max(0, ledger.reserved() + change.reserved()), dearest, open);
    }

    /** Stops every open batch of {@code tenant} whose next job could pass the month's budget. */
    private TenantMonth decide(String tenant, TenantMonth ledger, BigDecimal budget) throws IOException {
        if (budget == null) {
            return ledger;
        }
        Map<String, TenantMonth.OpenBatch> open = new TreeMap<>(ledger.open());
        Instant now = Instant.now();
        for (Map.Entry<String, TenantMonth.OpenBatch> entry : ledger.open().entrySet()) {
            TenantMonth.OpenBatch batch = entry.getValue();
            double next = batch.jobCost() > 0 ? batch.jobCost() : ledger.dearestJob();
            // The same tolerance as a batch's budget: sums of nano-dollar costs must not stop a job that fits exactly.
            if (!batch.stopped() && ledger.spent() + ledger.reserved() + next > budget.doubleValue() + 1e-9) {
                Log.infof("tenant %s: spent $%.6f in %s, reserved $%.6f; the next job ($%.6f) would pass its monthly budget of $%s; stopping batch %s",
                        tenant, ledger.spent(), ledger.month(), ledger.reserved(), next, budget.toPlainString(), entry.getKey());
                context.forward(BudgetGuard.stop(new CancelRequested(entry.getKey(), tenant, null, BudgetGuard.REASON, now)));
                open.put(entry.getKey(), new TenantMonth.OpenBatch(batch.jobCost(), true));
            }
        }
        return new TenantMonth(ledger.month(), ledger.spent(), ledger.images(), ledger.reserved(), ledger.dearestJob(), open);
    }
}
