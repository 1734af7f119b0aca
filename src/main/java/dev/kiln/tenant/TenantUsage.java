package dev.kiln.tenant;

import java.math.BigDecimal;

/**
 * What a tenant uses now, as {@code GET /v1/tenant} shows it. A null field is not known (yet): the
 * status view fills the pending images, the budget guard's ledger the month's figures.
 *
 * @param pendingImages    images accepted and not yet rendered
 * @param monthImages      images rendered this calendar month (UTC), the render cache's copies not counted
 * @param monthCostUsd     cost of this calendar month (UTC), in USD
 */
public record TenantUsage(Long pendingImages, Long monthImages, BigDecimal monthCostUsd) {

    /** Nothing measured yet. */
    public static final TenantUsage UNKNOWN = new TenantUsage(null, null, null);
}
