package dev.kiln.budget;

import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.TreeMap;

/**
 * The guard's ledger of one tenant, keyed by tenant id: what it spent in its latest calendar month
 * (UTC), what its running jobs hold, and its batches that still have jobs to start. This is also
 * what {@link MonthSpendReader} reads back (from the store's changelog) for {@code GET /v1/tenant}
 * and intake.
 *
 * @param month      the calendar month the figures are of ({@code 2026-11}, UTC)
 * @param spent      actual cost of the jobs that succeeded in that month, in USD
 * @param images     images rendered in that month (not counting the render cache's copies)
 * @param reserved   estimates reserved for the tenant's running jobs, in USD, whatever the month
 * @param dearestJob the dearest actual cost of one job seen in the month: the estimate of a batch that has none
 * @param open       the tenant's batches that still have jobs to start, by batch id
 */
record TenantMonth(String month, double spent, long images, double reserved, double dearestJob,
                   Map<String, OpenBatch> open) {

    /**
     * A batch with jobs to start.
     *
     * @param jobCost its upper estimate of one job; 0 when unknown
     * @param stopped whether the tenant's guard has stopped it
     */
    record OpenBatch(double jobCost, boolean stopped) {
    }

    static TenantMonth empty(String month) {
        return new TenantMonth(month, 0, 0, 0, 0, new TreeMap<>());
    }

    /** The calendar month (UTC) of {@code at}, as the ledger names it. */
    static String monthOf(Instant at) {
        return YearMonth.from(at.atOffset(ZoneOffset.UTC)).toString();
    }
}
