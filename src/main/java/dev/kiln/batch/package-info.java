/**
 * Intake of catalogue batches: validation, reference resolution, estimates and staging on Kafka.
 * It meets the worker only through Kafka and the job contract.
 */
package dev.kiln.batch;
