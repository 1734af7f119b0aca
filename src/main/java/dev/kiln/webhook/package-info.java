/**
 * Signed webhooks (Standard Webhooks): notices when a batch has ended, publishes
 * {@code kiln.batch.completed}, and delivers {@code batch.completed} (and, on request, job events)
 * to the batch's URL with retries for a day, recording every attempt.
 */
package dev.kiln.webhook;
