/**
 * The dispatcher: a Kafka Streams application that holds accepted jobs from {@code kiln.items} and
 * releases them to {@code kiln.jobs} fairly (priority, weighted fair share across tenants by
 * images, round-robin across a tenant's batches, item order) in a small window, within each
 * batch's {@code budget_usd} (reserved before release, settled from {@code kiln.status}), and
 * handles cancels, deadlines and retries from {@code kiln.control}. See docs/dispatcher.md and docs/costs.md.
 */
package dev.kiln.dispatch;
