package dev.kiln.budget;

import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;

/**
 * A tenant's month as the api reads it back from the dispatcher's tenant months changelog (the
 * dispatcher's {@code MonthLedger}, keyed by tenant id; its other fields are ignored).
 *
 * @param month  the calendar month the figures are of ({@code 2026-11}, UTC)
 * @param spent  actual cost of the tenant's jobs that succeeded in that month, in USD
 * @param images images rendered in that month (not counting the render cache's copies)
 */
record TenantMonth(String month, double spent, long images) {

    /** The calendar month (UTC) of {@code at}, as the ledger names it. */
    static String monthOf(Instant at) {
        return YearMonth.from(at.atOffset(ZoneOffset.UTC)).toString();
    }
}
