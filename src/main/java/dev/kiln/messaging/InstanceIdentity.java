package dev.kiln.messaging;

import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * This process's name towards Kafka and in status events ({@code worker} on {@code running}):
 * {@code KILN_INSTANCE_ID} when set, else the host name plus the HTTP port. The port is the
 * suffix because it is both stable across restarts (a random suffix would defeat static
 * membership) and unique among the processes of one host (two cannot listen on one port); in
 * Kubernetes the host name is the pod name, unique already.
 */
@ApplicationScoped
public class InstanceIdentity {

    private final String id;

    public InstanceIdentity(KafkaClientConfig config, @ConfigProperty(name = "quarkus.http.port", defaultValue = "8080") int port) {
        this.id = config.instanceId().filter(s -> !s.isBlank()).orElseGet(() -> hostName() + "-" + port);
        Log.infof("instance id %s (Kafka group.instance.id of the worker's consumers)", id);
    }

    /** The instance id. */
    public String id() {
        return id;
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "kiln";
        }
    }
}
