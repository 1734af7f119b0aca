package dev.kiln.messaging;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** How this process presents itself to Kafka and watches the broker. */
@ConfigMapping(prefix = "kiln.kafka")
public interface KafkaClientConfig {

    /**
     * A stable name, unique per process, for Kafka static membership (env {@code KILN_INSTANCE_ID}):
     * the pod name in Kubernetes. A worker restarted under the same name takes its partitions back
     * at once, without a rebalance and without waiting for its old session to expire. Unset, it is
     * the host name and the HTTP port ({@link InstanceIdentity}).
     */
    Optional<String> instanceId();

    /** How often the broker is probed for readiness and for intake's 503. */
    @WithDefault("PT5S")
    Duration probeInterval();

    /** How long one probe may take before the broker counts as unreachable. */
    @WithDefault("PT3S")
    Duration probeTimeout();
}
