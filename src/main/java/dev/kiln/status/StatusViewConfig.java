package dev.kiln.status;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** The status view: a Kafka Streams global store built from {@code kiln.status}. */
@ConfigMapping(prefix = "kiln.status-view")
public interface StatusViewConfig {

    /** Local folder of the view's RocksDB store; kept across restarts so only new events are replayed. */
    @WithDefault("${java.io.tmpdir}/kiln-status-view")
    String stateDir();

    /** Kafka Streams application id; replicas may share it, each keeps a whole copy of the view. */
    @WithDefault("kiln-status-view")
    String applicationId();

    /** How long a new batch's POST waits for the local view to show it, so that an immediate GET finds it. */
    @WithDefault("PT10S")
    Duration visibilityTimeout();

    /** Largest page of {@code GET /v1/batches/{id}/items}. */
    @WithDefault("1000")
    int maxPageSize();

    /** How often an event stream without news sends a comment line, so that proxies keep it open. */
    @WithDefault("PT15S")
    Duration sseHeartbeat();

    /** Most event streams one api replica serves at once (each holds a Kafka consumer); beyond, 503. */
    @WithDefault("256")
    int sseMaxStreams();
}
