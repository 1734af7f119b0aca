package dev.kiln.dispatch;

/**
 * A job's final event as the dispatcher's budget ledgers need it, read from {@code kiln.status}
 * and handed to the dispatch task through the repartition topic
 * {@code <application id>-dispatch-settlements-repartition} (one partition: the one task).
 *
 * @param batchId its batch, also the key
 * @param jobId   the job
 * @param attempt the attempt that ended
 * @param costUsd what it cost: the actual cost of a success (zero from the render cache), else 0
 */
record JobSettled(String batchId, String jobId, int attempt, double costUsd) {
}
