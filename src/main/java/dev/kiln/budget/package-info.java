/**
 * Budgets: a Kafka Streams guard that folds {@code kiln.status} per batch and per tenant and month
 * (reserving each started job's upper cost estimate, settling it with the job's actual usage) and
 * stops a batch on {@code kiln.control} with reason {@code budget_exceeded} before the next job would
 * pass its {@code budget_usd} or its tenant's {@code monthly_budget_usd}.
 */
package dev.kiln.budget;
