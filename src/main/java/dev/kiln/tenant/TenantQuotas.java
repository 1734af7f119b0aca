package dev.kiln.tenant;

import java.math.BigDecimal;

/**
 * What one tenant may use. Each feature enforces its own: intake the items per batch and the
 * pending images, the dispatcher the weight and the IPM share, the cost issue the budget.
 *
 * @param maxItemsPerBatch most items in one batch (over it: 400)
 * @param maxPendingImages most images pending at once (over it: 429)
 * @param ipmShareCap      largest share of the organisation's images per minute, 0 to 1
 * @param monthlyBudgetUsd budget per calendar month in USD; null when there is none
 */
public record TenantQuotas(int maxItemsPerBatch, long maxPendingImages, double ipmShareCap,
                           BigDecimal monthlyBudgetUsd) {

    public TenantQuotas {
        if (maxItemsPerBatch < 1) {
            throw new IllegalArgumentException("max_items_per_batch must be at least 1");
        }
        if (maxPendingImages < 1) {
            throw new IllegalArgumentException("max_pending_images must be at least 1");
        }
        if (!(ipmShareCap > 0 && ipmShareCap <= 1)) {
            throw new IllegalArgumentException("ipm_share_cap must be above 0 and at most 1");
        }
        if (monthlyBudgetUsd != null && monthlyBudgetUsd.signum() < 0) {
            throw new IllegalArgumentException("monthly_budget_usd must not be negative");
        }
    }

    /** The configured defaults. */
    static TenantQuotas defaults(AuthConfig.Quotas config) {
        return new TenantQuotas(config.maxItemsPerBatch(), config.maxPendingImages(), config.ipmShareCap(),
                config.monthlyBudgetUsd().orElse(null));
    }

    /** These quotas with every non-null field of {@code changes} applied. */
    TenantQuotas with(TenantRecord.QuotaOverrides changes) {
        if (changes == null) {
            return this;
        }
        return new TenantQuotas(
                changes.maxItemsPerBatch() != null ? changes.maxItemsPerBatch() : maxItemsPerBatch,
                changes.maxPendingImages() != null ? changes.maxPendingImages() : maxPendingImages,
                changes.ipmShareCap() != null ? changes.ipmShareCap() : ipmShareCap,
                changes.monthlyBudgetUsd() != null ? changes.monthlyBudgetUsd() : monthlyBudgetUsd);
    }
}
