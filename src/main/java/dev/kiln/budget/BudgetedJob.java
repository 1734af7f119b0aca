package dev.kiln.budget;

import dev.kiln.job.JobState;

/**
 * The guard's view of one job of a batch with a budget: what it last was, and what it holds.
 *
 * @param state    its last state
 * @param attempt  the attempt of that state
 * @param reserved the estimate reserved while it runs, 0 otherwise
 */
record BudgetedJob(JobState state, int attempt, double reserved) {
}
