package dev.kiln.tenant;

import dev.kiln.job.InvalidRequestException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;

/**
 * Intake's quota check, one call before anything is staged: {@code max_items_per_batch} (400, like
 * {@code kiln.intake.max-items}) and {@code max_pending_images} (429 with {@code Retry-After};
 * a batch that alone asks for more than the quota can never pass, so that is a 400).
 *
 * <p>Pending images are read from this replica's status view, so two batches accepted at the same
 * instant (or on two replicas within the view's lag, milliseconds) may together pass the quota
 * once; the next one is refused. A hard cap would need one writer per tenant, which intake does not
 * have.
 *
 * <p>A tenant whose spend this calendar month (UTC) has reached its {@code monthly_budget_usd} is
 * refused too (429 naming {@code monthly_budget_usd}, {@code Retry-After} the start of the next
 * month). The spend is read from the budget guard's ledger, which also stops a batch accepted
 * just before: this check only spares the client a batch that would be cancelled at once.
 */
@ApplicationScoped
public class TenantQuotaGuard {

    /** The field intake's own item limit names, so both limits read alike. */
    static final String ITEMS = "items";
    /** The wait when the organisation's IPM is unknown: long enough not to hammer, short enough to be useful. */
    static final Duration UNKNOWN_RATE_RETRY_AFTER = Duration.ofSeconds(60);
    /** No client needs to be told to wait longer than this for a quota that drains continuously. */
    static final Duration MAX_RETRY_AFTER = Duration.ofHours(1);

    private final TenantDirectory directory;
    private final PendingImages pending;
    private final TenantUsageSource usage;
    private final double organisationIpm;

    @Inject
    public TenantQuotaGuard(TenantDirectory directory, PendingImages pending, TenantUsageSource usage,
                            @ConfigProperty(name = "kiln.rate.ipm", defaultValue = "0") double organisationIpm) {
        this.directory = directory;
        this.pending = pending;
        this.usage = usage;
        this.organisationIpm = organisationIpm;
    }

    /** A guard that knows no month's spend, so never refuses for {@code monthly_budget_usd}. */
    public TenantQuotaGuard(TenantDirectory directory, PendingImages pending, double organisationIpm) {
        this(directory, pending, tenant -> TenantUsage.UNKNOWN, organisationIpm);
    }

    /** Whether the tenant has a {@code monthly_budget_usd}: its batches then carry their dearest job's cost. */
    public boolean hasMonthlyBudget(String tenant) {
        return directory.tenant(tenant).quotas().monthlyBudgetUsd() != null;
    }

    /** Checks the items per batch only (a dry run enqueues nothing, so pending images do not apply). */
    public void checkItems(String tenant, int items) {
        TenantQuotas quotas = directory.tenant(tenant).quotas();
        if (items > quotas.maxItemsPerBatch()) {
            throw InvalidRequestException.of(ITEMS, "must hold at most " + quotas.maxItemsPerBatch()
                    + " items, the tenant's max_items_per_batch quota; split the catalogue into several batches");
        }
    }

    /**
     * Checks a batch of {@code items} items asking for {@code images} images before it is staged.
     *
     * @throws InvalidRequestException over {@code max_items_per_batch}, or a batch bigger than {@code max_pending_images}
     * @throws QuotaExceededException  when the tenant's pending images and this batch's would pass {@code max_pending_images},
     *                                 or its spend this month has reached {@code monthly_budget_usd}
     */
    public void checkBatch(String tenant, int items, long images) {
        checkItems(tenant, items);
        Tenant settings = directory.tenant(tenant);
        checkMonth(tenant, settings.quotas().monthlyBudgetUsd());
        long max = settings.quotas().maxPendingImages();
        if (images > max) {
            throw InvalidRequestException.of(ITEMS, "together ask for " + images + " images, more than the tenant's max_pending_images quota of "
                    + max + "; split the catalogue into batches of at most " + max + " images");
        }
        long now = pending.pendingImages(tenant);
        if (now + images > max) {
            long excess = now + images - max;
            throw new QuotaExceededException("max_pending_images", max, "this batch asks for " + images
                    + " images and " + now + " are pending; the tenant's max_pending_images quota is " + max
                    + ". Nothing was accepted; retry once " + excess + " more have ended",
                    retryAfter(excess, settings.quotas().ipmShareCap()));
        }
    }

    private void checkMonth(String tenant, BigDecimal budget) {
        if (budget == null) {
            return;
        }
        BigDecimal spent = usage.usage(tenant).monthCostUsd();
        if (spent == null || spent.compareTo(budget) < 0) {
            // Not known yet (the ledger is still being read): the budget guard still stops the batch.
            return;
        }
        Instant now = Instant.now();
        Instant nextMonth = YearMonth.from(now.atOffset(ZoneOffset.UTC)).plusMonths(1).atDay(1)
                .atStartOfDay().toInstant(ZoneOffset.UTC);
        throw new QuotaExceededException("monthly_budget_usd", budget, "the tenant has spent $" + spent.toPlainString()
                + " this month (UTC), which reaches its monthly_budget_usd of $" + budget.toPlainString()
                + ". Nothing was accepted; the budget renews at " + nextMonth + ", or an admin may raise it",
                Duration.between(now, nextMonth));
    }

    /** About how long the tenant's share of the organisation's rate takes to render {@code excess} images. */
    Duration retryAfter(long excess, double ipmShareCap) {
        if (organisationIpm <= 0) {
            return UNKNOWN_RATE_RETRY_AFTER;
        }
        double seconds = Math.ceil(excess * 60.0 / (organisationIpm * ipmShareCap));
        return Duration.ofSeconds((long) Math.max(1, Math.min(MAX_RETRY_AFTER.toSeconds(), seconds)));
    }
}
