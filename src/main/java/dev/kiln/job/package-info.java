/**
 * The job contract: the records and states every part exchanges, and their ids.
 * No plumbing: nothing here knows Kafka, S3 or HTTP.
 */
package dev.kiln.job;
