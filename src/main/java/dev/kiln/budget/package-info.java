/**
 * The monthly tenant budget: a Kafka Streams guard that folds {@code kiln.status} per batch and per
 * tenant and month (reserving each started job's upper cost estimate, settling it with the job's
 * actual usage) and stops a tenant's batches on {@code kiln.control} with reason
 * {@code budget_exceeded} before the next job would pass its {@code monthly_budget_usd}. A batch's
 * own {@code budget_usd} is the dispatcher's ({@code dev.kiln.dispatch.BudgetLedger}).
 */
package dev.kiln.budget;
