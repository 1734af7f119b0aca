package dev.kiln.budget;

/**
 * The guard's ledger of one batch, in US dollars. Every batch has one, so that its spend reaches
 * its tenant's month; only a batch with {@code budget_usd} is stopped by its own ledger.
 *
 * @param tenant   the batch's owner
 * @param budget   {@code budget_usd}; null when the batch has none
 * @param jobCost  the upper cost estimate of the batch's dearest job, reserved for every job that
 *                 starts; 0 when intake did not give one (an NDJSON catalogue)
 * @param items    jobs in the batch
 * @param spent    actual cost of the jobs that succeeded (from their usage)
 * @param reserved estimates reserved for the jobs running now
 * @param ended    jobs in a final state
 * @param running  jobs running now
 * @param stopped  whether the guard has asked to stop the batch
 */
record BatchBudget(String tenant, Double budget, double jobCost, int items, double spent, double reserved, int ended,
                   int running, boolean stopped) {

    static BatchBudget opened(String tenant, Double budget, double jobCost, int items) {
        return new BatchBudget(tenant, budget, jobCost, items, 0, 0, 0, 0, false);
    }

    /** Whether some job has not started yet. */
    boolean pending() {
        return ended + running < items;
    }

    /** Whether starting one more job could pass the batch's budget, while some job has not started yet. */
    boolean nextWouldPass() {
        // A tiny tolerance: costs are rounded to nano-dollars and a sum of them must not stop a
        // batch whose next job fits exactly.
        return budget != null && pending() && spent + reserved + jobCost > budget + 1e-9;
    }

    BatchBudget with(double newSpent, double newReserved, int newEnded, int newRunning, boolean newStopped) {
        return new BatchBudget(tenant, budget, jobCost, items, newSpent, newReserved, newEnded, newRunning, newStopped);
    }
}
