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

    /** How many sends to Kafka one batch keeps in flight at once. */
    @WithDefault("512")
    int publishConcurrency();

    /** How long to wait for Kafka to acknowledge a whole batch before answering 503. */
    @WithDefault("PT60S")
    Duration publishTimeout();

    /**
     * How many S3 look-ups of reference images one batch runs at once. Each distinct reference is
     * looked up once per batch, however many items share it.
     */
    @WithDefault("16")
    int referenceLookupConcurrency();
}
