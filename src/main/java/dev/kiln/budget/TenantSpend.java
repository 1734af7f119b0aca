package dev.kiln.budget;

/**
 * A change of one batch's spend, as the batch guard sends it to its tenant's month ledger
 * (re-keyed by tenant through the guard's repartition topic).
 *
 * @param tenant   the batch's owner, the key
 * @param batchId  the batch
 * @param month    the calendar month (UTC, {@code 2026-11}) of the event behind the change
 * @param spent    actual cost added (a job succeeded), in USD
 * @param images   images rendered (a job succeeded, not from the render cache)
 * @param reserved change of the estimates reserved for the batch's running jobs, in USD
 * @param jobCost  the batch's upper estimate of one job; 0 when unknown
 * @param pending  whether the batch still has jobs that have not started
 */
record TenantSpend(String tenant, String batchId, String month, double spent, long images, double reserved,
                   double jobCost, boolean pending) {
}
