/**
 * Budgets: a Kafka Streams guard that folds {@code kiln.status} per batch (reserving each started
 * job's upper cost estimate, settling it with the job's actual usage) and stops a batch on
 * {@code kiln.control} with reason {@code budget_exceeded} before the next job would pass its budget.
 */
package dev.kiln.budget;
