/**
 * The local run and the tests only: an embedded Kafka broker, an S3 server and the simulator.
 * Never part of a production process.
 */
package dev.kiln.localstack;
