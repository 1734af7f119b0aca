/**
 * The status view: folds kiln.status into a queryable Kafka Streams store and serves it over REST.
 * It is the read side every client polls.
 */
package dev.kiln.status;
