package dev.kiln.dispatch;

/**
 * A tenant's weight in the fair share: a tenant of weight 2 gets twice the images of a tenant of
 * weight 1 while both have work pending. It also carries each tenant's {@code ipm_share_cap}, which
 * {@link TenantRateCaps} enforces. The dispatcher reads them from the tenant directory
 * ({@link DirectoryTenantWeights}); tests use {@link #EQUAL} or a lambda.
 */
@FunctionalInterface
public interface TenantWeights {

    /** The weight of {@code tenant}; positive. */
    double weight(String tenant);

    /**
     * The largest share of the organisation's IPM the tenant's releases may take, above 0 and at
     * most 1 ({@code ipm_share_cap}); 1, no cap, unless a source says otherwise.
     */
    default double ipmShareCap(String tenant) {
        return 1.0;
    }

    /**
     * The tenant's {@code monthly_budget_usd}, which the dispatcher holds its releases to
     * ({@link MonthLedger}); null when it has none, unless a source says otherwise.
     */
    default Double monthlyBudgetUsd(String tenant) {
        return null;
    }

    /** Every tenant weighs 1. */
    TenantWeights EQUAL = tenant -> 1.0;
}
