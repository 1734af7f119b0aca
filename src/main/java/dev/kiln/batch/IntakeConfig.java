package dev.kiln.batch;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** Limits and defaults of the batch intake. */
@ConfigMapping(prefix = "kiln.intake")
public interface IntakeConfig {

    /** Most items one batch may hold. */
    @WithDefault("100000")
    int maxItems();

    /** The model an item gets when neither it nor the defaults name one. */
    @WithDefault("gpt-image-2")
    String defaultModel();

    /** Longest an item id may be, in characters. */
    @WithDefault("256")
    int maxItemIdLength();

    /**
     * How many S3 look-ups of reference images one batch runs at once. Each distinct reference is
     * looked up once per batch, however many items share it.
     */
    @WithDefault("16")
    int referenceLookupConcurrency();

    /**
     * Longest line of an {@code application/x-ndjson} catalogue, in bytes: an item with a prompt
     * of 32,000 characters and its metadata fits many times over; a longer line is refused without
     * being held in memory.
     */
    @WithDefault("1048576")
    int maxLineBytes();

    /**
     * How long intake waits for the next bytes of a body before it answers 408 and accepts
     * nothing: a client that stalls mid-upload must not hold a request thread and its spool.
     */
    @WithDefault("PT30S")
    Duration readTimeout();

    /**
     * Where a batch's items (JSON or NDJSON) are kept between their read and the Kafka
     * transaction (a file a request, deleted at its end); the JVM's temporary directory when unset.
     */
    java.util.Optional<String> spoolDir();
}
