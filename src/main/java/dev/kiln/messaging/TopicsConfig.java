package dev.kiln.messaging;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.util.List;
import java.util.Optional;

/** Kiln's topics, created at start-up when they are missing. */
@ConfigMapping(prefix = "kiln.topics")
public interface TopicsConfig {

    /** Create missing topics at start-up (off where topics are provisioned separately, see deploy/). */
    @WithDefault("true")
    boolean create();

    /** Partitions of {@code kiln.jobs}: the most workers that can share the work. */
    @WithDefault("12")
    int jobsPartitions();

    /** Partitions of {@code kiln.status}, and of {@code kiln.webhooks}, which must match it. */
    @WithDefault("6")
    int statusPartitions();

    /**
     * Partitions of {@code kiln.items} and {@code kiln.control}. Must stay 1: the dispatcher's
     * fairness needs one task that sees every tenant, and the two topics must be co-partitioned.
     */
    @WithDefault("1")
    int dispatchPartitions();
    /** Partitions of {@code kiln.tenants}: a handful of small records, read whole by every api replica. */
    @WithDefault("1")
    int tenantsPartitions();

    /** Replication factor of created topics; the broker's default when unset. */
    Optional<Short> replicationFactor();

    /** The delayed-retry topics, named {@code kiln.jobs.retry_<delay ms>} as SmallRye reads the delay from the name. */
    @WithDefault("kiln.jobs.retry_10000,kiln.jobs.retry_30000,kiln.jobs.retry_90000")
    List<String> retryTopics();
}
