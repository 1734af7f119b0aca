package dev.kiln.messaging;

import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Makes Kafka admin clients from the shared {@code kafka.*} configuration, the same that the
 * channels use: bootstrap servers and every security, SASL and SSL setting, so that topic set-up
 * and the rate share work on a secured cluster as the consumers do.
 */
@ApplicationScoped
public class KafkaAdmins {

    private static final Set<String> ADMIN_SETTINGS = AdminClientConfig.configNames();

    private final Map<String, Object> shared;

    public KafkaAdmins(@Identifier("default-kafka-broker") Map<String, Object> shared) {
        this.shared = shared;
    }

    /** A new admin client named {@code clientId}; the caller closes it. */
    public Admin create(String clientId) {
        Map<String, Object> config = new HashMap<>();
        // The shared map also holds consumer and producer settings (deserialisers); an admin
        // client would only warn about them.
        shared.forEach((name, value) -> {
            if (ADMIN_SETTINGS.contains(name)) {
                config.put(name, value);
            }
        });
        config.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        return Admin.create(config);
    }
}
