package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.time.Instant;

/**
 * A command about one batch on {@code kiln.control}, keyed by batch id so that a batch's commands
 * stay in order. The JSON names its kind in {@code "command"}: {@code cancel} or {@code retry}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "command")
@JsonSubTypes({
        @JsonSubTypes.Type(value = CancelRequested.class, name = "cancel"),
        @JsonSubTypes.Type(value = RetryRequested.class, name = "retry")})
public sealed interface BatchCommand permits CancelRequested, RetryRequested {

    /** CloudEvents type of a {@link CancelRequested}. */
    String CANCEL_TYPE = "kiln.batch.cancel_requested";
    /** CloudEvents type of a {@link RetryRequested}. */
    String RETRY_TYPE = "kiln.batch.retry_requested";

    /** The batch, also the Kafka key. */
    String batchId();

    /** The batch's owner. */
    String tenant();

    /** When it was asked for. */
    Instant requestedAt();

    /** The CloudEvents type of this command. */
    default String eventType() {
        return this instanceof CancelRequested ? CANCEL_TYPE : RETRY_TYPE;
    }
}
