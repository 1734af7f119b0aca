package dev.kiln.config;

import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.PropertiesConfigSource;
import org.eclipse.microprofile.config.spi.ConfigSource;

import java.util.List;
import java.util.Map;

/**
 * Turns {@code KILN_ROLE} into the switches of the parts it starts. The Kafka channel of the
 * worker must be disabled before SmallRye wires it, which only configuration can do, so the role
 * is translated here rather than checked in code. The status view and the dispatcher start their
 * own Kafka Streams instances and read the role themselves ({@link Role#runsApi()},
 * {@link Role#runsDispatcher()}).
 */
public class RoleConfigSourceFactory implements ConfigSourceFactory {

    /** Below application.properties (250) so that a test or operator can still override a switch. */
    private static final int ORDINAL = 240;

    @Override
    public Iterable<ConfigSource> getConfigSources(ConfigSourceContext context) {
        ConfigValue value = context.getValue("kiln.role");
        Role role = Role.parse(value == null ? null : value.getValue());
        return List.of(new PropertiesConfigSource(
                Map.of("mp.messaging.incoming.jobs.enabled", Boolean.toString(role.runsWorker())),
                "kiln-role", ORDINAL));
    }
}
