package dev.kiln.dispatch;

import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.TreeMap;

/**
 * The dispatcher's ledger of one tenant's calendar month (UTC): the value of the tenant months
 * store, keyed by tenant id. Every job the dispatcher releases for a tenant with a monthly budget
 * is recorded with what it reserves (its batch's upper estimate of one job, or zero for a likely
 * render-cache hit); the job's final event gives the reservation back, and a success adds its
 * actual cost and images.
 *
 * <p>Reservations are kept for tenants with a {@code monthly_budget_usd} only; a success is counted
 * once per attempt (the released store remembers which attempt was counted, {@link LeftJob#paidAttempt}),
 * for every tenant, so {@code GET /v1/tenant} shows every tenant's month.
 *
 * <p>For a tenant with a {@code monthly_budget_usd}, a job is released only while
 * {@code spent + reserved + jobCost <= budget}; once even {@code spent + jobCost} passes it, the
 * tenant's pending jobs that are not likely hits are stopped. The first settlement or release of
 * a new month starts the figures from zero; reservations carry over. This is also what the api
 * role reads back (the store's changelog) for {@code GET /v1/tenant} and intake's 429; the field
 * names {@code month}, {@code spent} and {@code images} are that contract.
 *
 * @param month        the calendar month of the figures ({@code 2026-11}, UTC)
 * @param spent        actual cost of the tenant's jobs that succeeded in that month, in USD
 * @param images       images rendered in that month (not counting the render cache's copies)
 * @param dearestJob   the dearest actual cost of one job in the month: the estimate of a batch that carries none
 * @param reservations the released jobs that have not ended, by job id, whatever the month
 */
record MonthLedger(String month, double spent, long images, double dearestJob,
                   Map<String, BudgetLedger.Reservation> reservations) {

    /** Costs are rounded to nano-dollars; a sum of them must not stop a job that fits exactly. */
    private static final double TOLERANCE = 1e-9;

    MonthLedger {
        reservations = reservations == null ? Map.of() : Map.copyOf(reservations);
    }

    static MonthLedger empty(String month) {
        return new MonthLedger(month, 0, 0, 0, Map.of());
    }

    /** The calendar month (UTC) of {@code epochMs}, as the ledger names it. */
    static String monthOf(long epochMs) {
        return YearMonth.from(Instant.ofEpochMilli(epochMs).atOffset(ZoneOffset.UTC)).toString();
    }

    /** This ledger in {@code current}: unchanged in the same month, figures from zero in a later one. */
    MonthLedger in(String current) {
        return current.compareTo(month) > 0 ? new MonthLedger(current, 0, 0, 0, reservations) : this;
    }

    /** What the outstanding reservations hold. */
    double reservedUsd() {
        return reservations.values().stream().mapToDouble(BudgetLedger.Reservation::usd).sum();
    }

    /** Whether one more job of {@code jobCost} fits {@code budget} now. */
    boolean fits(double budget, double jobCost) {
        return spent + reservedUsd() + jobCost <= budget + TOLERANCE;
    }

    /** Whether no job of {@code jobCost} can fit {@code budget} this month, whatever the reservations settle at. */
    boolean exhausted(double budget, double jobCost) {
        return spent + jobCost > budget + TOLERANCE;
    }

    /** The ledger once {@code jobId} at {@code attempt} was released holding {@code usd}. */
    MonthLedger reserved(String jobId, int attempt, double usd) {
        Map<String, BudgetLedger.Reservation> next = new TreeMap<>(reservations);
        next.put(jobId, new BudgetLedger.Reservation(attempt, usd));
        return new MonthLedger(month, spent, images, dearestJob, next);
    }

    /**
     * The ledger once {@code jobId} ended at {@code attempt}: its reservation of that attempt or an
     * earlier one is given back; unchanged when it holds none.
     */
    MonthLedger ended(String jobId, int attempt) {
        BudgetLedger.Reservation held = reservations.get(jobId);
        if (held == null || held.attempt() > attempt) {
            return this;
        }
        Map<String, BudgetLedger.Reservation> next = new TreeMap<>(reservations);
        next.remove(jobId);
        return new MonthLedger(month, spent, images, dearestJob, next);
    }

    /** The ledger once a success of {@code costUsd} and {@code rendered} images was counted. */
    MonthLedger paid(double costUsd, long rendered) {
        return new MonthLedger(month, spent + costUsd, images + rendered,
                rendered > 0 ? Math.max(dearestJob, costUsd) : dearestJob, reservations);
    }
}
