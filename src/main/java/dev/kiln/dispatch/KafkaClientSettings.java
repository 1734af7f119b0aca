package dev.kiln.dispatch;

import org.apache.kafka.clients.admin.AdminClientConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * The connection settings of the shared {@code kafka.*} configuration (bootstrap servers, security,
 * SASL, SSL), without the channels' serialisers, for the clients the dispatcher makes itself.
 */
final class KafkaClientSettings {

    private KafkaClientSettings() {
    }

    static Map<String, Object> connection(Map<String, Object> shared) {
        Map<String, Object> config = new HashMap<>();
        shared.forEach((name, value) -> {
            if (AdminClientConfig.configNames().contains(name) && !name.equals(AdminClientConfig.CLIENT_ID_CONFIG)) {
                config.put(name, value);
            }
        });
        return config;
    }
}
