package dev.kiln.messaging;

import io.smallrye.reactive.messaging.ClientCustomizer;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.eclipse.microprofile.config.Config;

import java.util.Map;

/**
 * Kafka static membership for the worker's consumers: {@code group.instance.id} is this
 * process's {@link InstanceIdentity}. A worker that crashes and comes back under the same name
 * (a container restart keeps the pod name) rejoins its group as the same member and gets its
 * partitions back at once: no rebalance, and no wait for the dead session to expire. A worker
 * that does not come back loses its partitions after {@code session.timeout.ms}, kept short
 * (application.properties) for that case. The delayed-retry consumer has its own group, so the
 * same id is unique there too.
 */
@ApplicationScoped
public class StaticMembership implements ClientCustomizer<Map<String, Object>> {

    private final InstanceIdentity identity;

    public StaticMembership(InstanceIdentity identity) {
        this.identity = identity;
    }

    @Override
    public Map<String, Object> customize(String channel, Config channelConfig, Map<String, Object> config) {
        if (Topics.JOBS_IN.equals(channel) && config.containsKey(ConsumerConfig.GROUP_ID_CONFIG)
                && !config.containsKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)) {
            config.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, identity.id());
        }
        return config;
    }
}
