package dev.kiln.budget;

/**
 * The guard's ledger of one batch, in US dollars. Every batch has one, so that its spend and the
 * reservations of its running jobs reach its tenant's month. A batch's own {@code budget_usd} is
 * held by the dispatcher before release ({@code dev.kiln.dispatch.BudgetLedger}), not here.
 *
 * @param tenant   the batch's owner
 * @param jobCost  the upper cost estimate of the batch's dearest job, reserved for every job that
 *                 starts; 0 when intake did not give one
 * @param items    jobs in the batch
 * @param spent    actual cost of the jobs that succeeded (from their usage)
 * @param reserved estimates reserved for the jobs running now
 * @param ended    jobs in a final state
 * @param running  jobs running now
 */
record BatchBudget(String tenant, double jobCost, int items, double spent, double reserved, int ended, int running) {

    static BatchBudget opened(String tenant, double jobCost, int items) {
        return new BatchBudget(tenant, jobCost, items, 0, 0, 0, 0);
    }

    /** Whether some job has not started yet. */
    boolean pending() {
        return ended + running < items;
    }

    BatchBudget with(double newSpent, double newReserved, int newEnded, int newRunning) {
        return new BatchBudget(tenant, jobCost, items, newSpent, newReserved, newEnded, newRunning);
    }
}
