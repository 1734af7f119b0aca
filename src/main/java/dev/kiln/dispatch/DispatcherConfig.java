package dev.kiln.dispatch;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** The dispatcher (role {@code dispatcher} or {@code all}); see docs/dispatcher.md. */
@ConfigMapping(prefix = "kiln.dispatcher")
public interface DispatcherConfig {

    /** Run the dispatcher in the roles that include it; off leaves {@code kiln.items} unread. */
    @WithDefault("true")
    boolean enabled();

    /** Kafka Streams application id: the group of every dispatcher instance and the prefix of its changelogs. */
    @WithDefault("kiln-dispatcher")
    String applicationId();

    /** Local folder of the RocksDB stores; kept across restarts so that only newer changelog records are replayed. */
    @WithDefault("${java.io.tmpdir}/kiln-dispatcher")
    String stateDir();

    /** Warm copies of the stores on other instances, for a failover in seconds rather than a full restore. */
    @WithDefault("1")
    int standbyReplicas();

    /** How long a dead instance keeps its task before another takes over (the consumer's session timeout). */
    @WithDefault("PT10S")
    Duration sessionTimeout();

    /** How often pending jobs are expired and released; short, so that the window refills quickly. */
    @WithDefault("PT0.2S")
    Duration tick();

    /** Seconds of work kept released ahead of the workers (see ReleaseWindow). */
    @WithDefault("PT5S")
    Duration lead();

    /** The part of the provider's burst ({@code kiln.rate.burst}) the window covers, 0 to 1. */
    @WithDefault("0.25")
    double burstShare();

    /** The smallest window, in jobs. */
    @WithDefault("4")
    int minWindow();

    /** The largest window, in jobs. */
    @WithDefault("1000")
    int maxWindow();

    /** Most jobs released in one tick, which bounds one transaction. */
    @WithDefault("500")
    int maxReleasesPerTick();

    /** Images a tenant may release per fair-share visit at weight 1; at least the largest n. */
    @WithDefault("10")
    int quantumImages();

    /** A released job whose start is never seen stops counting against the window after this. */
    @WithDefault("PT10M")
    Duration unstartedTimeout();

    /** How long a batch with nothing pending is remembered, so that its failed and expired items can be retried. */
    @WithDefault("P30D")
    Duration retention();

    /** How often batches past their retention are forgotten. */
    @WithDefault("PT10M")
    Duration purgeInterval();

    /** The workers' consumer group, whose size gives their capacity when there is no rate limit. */
    @WithDefault("kiln-workers")
    String workersGroup();

    /** Calls one worker has in flight at most ({@code KILN_WORKER_MAX_IN_FLIGHT}). */
    @WithDefault("16")
    int workerMaxInFlight();

    /** How often the workers' group is counted. */
    @WithDefault("PT5S")
    Duration capacityRefresh();
}
