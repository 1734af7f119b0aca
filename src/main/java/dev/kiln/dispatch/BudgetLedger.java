package dev.kiln.dispatch;

import java.util.Map;
import java.util.TreeMap;

/**
 * The dispatcher's ledger of one batch that has a {@code budget_usd}: the value of the budgets
 * store. Every job it releases reserves the batch's upper estimate of one job; the job's final
 * event settles the reservation (a success with its actual cost, anything else with nothing), and
 * a worker's retry gives it back until the retry is released again.
 *
 * <p>A job is released only while {@code spent + reserved + jobCost <= budget}. When that does not
 * hold the batch is held: its jobs wait while reservations are outstanding, since their actual
 * costs may leave room (a job served from the render cache costs nothing). Once even
 * {@code spent + jobCost} passes the budget nothing of the batch can ever fit, and it is stopped.
 * Estimates are upper bounds, so the spend never passes the budget.
 *
 * @param budgetUsd    the batch's {@code budget_usd}
 * @param jobCostUsd   the upper cost estimate of its dearest job, reserved for each release
 * @param spentUsd     actual cost of its jobs that succeeded
 * @param reservations the reservations outstanding, by job id
 * @param stopped      whether the dispatcher stopped the batch for its budget
 */
record BudgetLedger(double budgetUsd, double jobCostUsd, double spentUsd, Map<String, Reservation> reservations,
                    boolean stopped) {

    /**
     * One released job's reservation.
     *
     * @param attempt the attempt that was released
     * @param usd     the estimate reserved for it
     */
    record Reservation(int attempt, double usd) {
    }

    /** Costs are rounded to nano-dollars; a sum of them must not stop a job that fits exactly. */
    private static final double TOLERANCE = 1e-9;

    BudgetLedger {
        reservations = reservations == null ? Map.of() : Map.copyOf(reservations);
    }

    static BudgetLedger opened(double budgetUsd, double jobCostUsd) {
        return new BudgetLedger(budgetUsd, jobCostUsd, 0, Map.of(), false);
    }

    /** What the outstanding reservations hold. */
    double reservedUsd() {
        return reservations.values().stream().mapToDouble(Reservation::usd).sum();
    }

    /** Whether one more job can be released now. */
    boolean fitsOneMore() {
        return spentUsd + reservedUsd() + jobCostUsd <= budgetUsd + TOLERANCE;
    }

    /** Whether no further job can ever fit, whatever the outstanding reservations settle at. */
    boolean exhausted() {
        return spentUsd + jobCostUsd > budgetUsd + TOLERANCE;
    }

    /** The ledger once {@code jobId} at {@code attempt} was released. */
    BudgetLedger reserved(String jobId, int attempt) {
        return reserved(jobId, attempt, jobCostUsd);
    }

    /**
     * The ledger once {@code jobId} at {@code attempt} was released holding {@code usd}: zero for a
     * likely render-cache hit, which still settles at its actual cost if it is rendered after all.
     */
    BudgetLedger reserved(String jobId, int attempt, double usd) {
        Map<String, Reservation> next = new TreeMap<>(reservations);
        next.put(jobId, new Reservation(attempt, usd));
        return new BudgetLedger(budgetUsd, jobCostUsd, spentUsd, next, stopped);
    }

    /**
     * The ledger once {@code jobId} ended at {@code attempt} with {@code costUsd} (0 unless it
     * succeeded); unchanged when it holds no reservation of that attempt or an earlier one, so a
     * repeated final event is never counted twice. A success of an earlier attempt than the one
     * reserved adds its cost and settles nothing.
     */
    BudgetLedger settled(String jobId, int attempt, double costUsd) {
        Reservation held = reservations.get(jobId);
        if (held != null && held.attempt() > attempt && costUsd > 0) {
            // A render of an earlier attempt that ended after the job was handed back (a stale
            // delivery the worker could not stop): it was paid, so it counts, and the later
            // attempt keeps its own reservation.
            return new BudgetLedger(budgetUsd, jobCostUsd, spentUsd + costUsd, reservations, stopped);
        }
        if (held == null || held.attempt() > attempt) {
            return this;
        }
        Map<String, Reservation> next = new TreeMap<>(reservations);
        next.remove(jobId);
        return new BudgetLedger(budgetUsd, jobCostUsd, spentUsd + costUsd, next, stopped);
    }

    /** The ledger of a stopped batch. */
    BudgetLedger stoppedNow() {
        return new BudgetLedger(budgetUsd, jobCostUsd, spentUsd, reservations, true);
    }
}
