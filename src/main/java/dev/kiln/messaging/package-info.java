/**
 * Kafka plumbing: topics, serdes, publishers, CloudEvents headers and topic set-up.
 * Features publish through these classes and never name a topic themselves.
 */
package dev.kiln.messaging;
