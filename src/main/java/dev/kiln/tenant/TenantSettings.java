package dev.kiln.tenant;

import java.math.BigDecimal;

/**
 * A change of a tenant's weight and quotas; a null field is left as it is.
 *
 * @param weight           weight in the fair share, at least 1
 * @param maxItemsPerBatch most items in one batch
 * @param maxPendingImages most images pending at once
 * @param ipmShareCap      largest share of the organisation's IPM, above 0 and at most 1
 * @param monthlyBudgetUsd monthly budget in USD, 0 or more
 */
public record TenantSettings(Integer weight, Integer maxItemsPerBatch, Long maxPendingImages, Double ipmShareCap,
                             BigDecimal monthlyBudgetUsd) {
}
