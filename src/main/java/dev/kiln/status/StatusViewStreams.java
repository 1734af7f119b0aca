package dev.kiln.status;

import dev.kiln.config.KilnConfig;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.time.Duration;
import java.util.Optional;
import java.util.Properties;

/**
 * Runs the Kafka Streams instance behind the status view (api role only). The view is a global
 * store: every api replica reads every partition of {@code kiln.status} into its own RocksDB
 * copy on local disk, so any replica answers for any batch without asking another, and the heap
 * holds none of it. On restart the store is reopened from disk and only newer events are
 * replayed through {@link StatusViewUpdater}.
 */
@ApplicationScoped
public class StatusViewStreams {

    /** Name of the one status store. */
    static final String STORE = "kiln-status-view";

    private final StatusViewConfig config;
    private final String bootstrapServers;
    private final boolean enabled;
    private volatile KafkaStreams streams;
    /** Writes a batch's stored manifest when its {@code kiln.batch.completed} is folded; null in tests. */
    private final ManifestWriter manifests;

    public StatusViewStreams(StatusViewConfig config, String bootstrapServers, KilnConfig kiln) {
        this(config, bootstrapServers, kiln, null);
    }

    @Inject
    public StatusViewStreams(StatusViewConfig config,
                             @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
                             KilnConfig kiln, ManifestWriter manifests) {
        this.manifests = manifests;
        this.config = config;
        this.bootstrapServers = bootstrapServers;
        this.enabled = kiln.parsedRole().runsApi();
    }

    void start(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        StreamsBuilder builder = new StreamsBuilder();
        builder.addGlobalStore(
                Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray())
                        .withLoggingDisabled(),
                Topics.STATUS,
                Consumed.with(Serdes.String(), Serdes.ByteArray()),
                () -> new StatusViewUpdater(STORE, manifests == null ? id -> { } : manifests::completed));
        KafkaStreams instance = new KafkaStreams(builder.build(), properties());
        instance.setUncaughtExceptionHandler(e -> {
            Log.error("status view failed; replacing its thread", e);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        // Published before start(), which restores the global store before it returns: meanwhile
        // readiness reports the restoring state instead of NOT_STARTED.
        streams = instance;
        instance.start();
    }

    void stop(@Observes ShutdownEvent event) {
        KafkaStreams instance = streams;
        if (instance != null) {
            instance.close(Duration.ofSeconds(10));
        }
    }

    /** Whether this process runs the view at all (the api role). */
    public boolean runsHere() {
        return enabled;
    }

    /**
     * Where the view is: {@code NOT_STARTED}, or Kafka Streams' state ({@code REBALANCING} while
     * the global store restores from {@code kiln.status}, then {@code RUNNING}).
     */
    public String stateName() {
        KafkaStreams instance = streams;
        return instance == null ? "NOT_STARTED" : instance.state().name();
    }

    /** Whether the view is caught up and queryable. */
    public boolean isRunning() {
        KafkaStreams instance = streams;
        return instance != null && instance.state() == KafkaStreams.State.RUNNING;
    }

    /** The store, once the view is running. */
    Optional<ReadOnlyKeyValueStore<String, byte[]>> store() {
        if (!isRunning()) {
            return Optional.empty();
        }
        return Optional.of(streams.store(StoreQueryParameters.fromNameAndType(STORE, QueryableStoreTypes.keyValueStore())));
    }

    private Properties properties() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir());
        // Only a global store: no stream task needs a thread or a consumer group.
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 0);
        // Events are tiny and the view should follow within milliseconds.
        props.put(StreamsConfig.globalConsumerPrefix("fetch.max.wait.ms"), 50);
        props.put(StreamsConfig.globalConsumerPrefix("isolation.level"), "read_committed");
        return props;
    }
}
