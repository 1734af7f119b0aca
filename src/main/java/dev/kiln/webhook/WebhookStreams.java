package dev.kiln.webhook;

import dev.kiln.config.KilnConfig;
import dev.kiln.messaging.Topics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Runs the webhook machinery in the api role: the notifier (a partitioned Kafka Streams application
 * with {@code exactly_once_v2}, so each batch has exactly one owner among the api replicas), the
 * attempts' HTTP sender, and the delivery log (a global store of {@code kiln.webhooks} that every
 * replica keeps in full, so any replica shows any batch's deliveries).
 */
@ApplicationScoped
public class WebhookStreams {

    /** Name of the delivery log's global store. */
    static final String LOG_STORE = "kiln-webhook-log";

    private final WebhookConfig config;
    private final WebhookSecrets secrets;
    private final String bootstrapServers;
    private final Map<String, Object> sharedKafka;
    private final boolean enabled;
    private volatile Producer<String, byte[]> producer;
    private volatile HttpWebhookSender sender;
    private volatile KafkaStreams notifier;
    private volatile KafkaStreams log;

    public WebhookStreams(WebhookConfig config, WebhookSecrets secrets, KilnConfig kiln,
                          @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
                          @Identifier("default-kafka-broker") Map<String, Object> sharedKafka) {
        this.config = config;
        this.secrets = secrets;
        this.bootstrapServers = bootstrapServers;
        this.sharedKafka = sharedKafka;
        this.enabled = config.enabled() && kiln.parsedRole().runsApi();
    }

    void start(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        producer = new KafkaProducer<>(producerProperties(), new StringSerializer(), new ByteArraySerializer());
        WebhookClient client = new WebhookClient(new WebhookAddressGuard(config.allowPrivateAddresses()), secrets,
                config.attemptTimeout(), Clock.systemUTC());
        sender = new HttpWebhookSender(client, producer, config.maxInFlight());
        notifier = started(new KafkaStreams(NotifierTopology.build(NotifierSettings.of(config), sender),
                notifierProperties()), "webhook notifier");

        StreamsBuilder builder = new StreamsBuilder();
        builder.addGlobalStore(
                Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(LOG_STORE), Serdes.String(), Serdes.ByteArray())
                        .withLoggingDisabled(),
                Topics.WEBHOOKS,
                Consumed.with(Serdes.String(), Serdes.ByteArray()),
                () -> new WebhookLogUpdater(LOG_STORE));
        log = started(new KafkaStreams(builder.build(), logProperties()), "webhook delivery log");
        io.micrometer.core.instrument.Gauge.builder("kiln.webhooks.backlog", this, WebhookStreams::backlog).description("Webhook deliveries pending or sending on this replica (approximate)").register(io.micrometer.core.instrument.Metrics.globalRegistry);
    }

    /** Deliveries waiting for an attempt or its outcome in this replica's partitions (RocksDB's estimate), for the backlog gauge. */
    private double backlog() {
        KafkaStreams instance = notifier;
        if (instance == null || instance.state() != KafkaStreams.State.RUNNING) {
            return 0;
        }
        try {
            return instance.store(StoreQueryParameters.fromNameAndType(NotifierProcessor.DUE, QueryableStoreTypes.<String, String>keyValueStore())).approximateNumEntries();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        close(notifier);
        HttpWebhookSender s = sender;
        if (s != null) {
            s.close();
        }
        Producer<String, byte[]> p = producer;
        if (p != null) {
            p.close(Duration.ofSeconds(5));
        }
        close(log);
    }

    /** The delivery log, once it is running. */
    Optional<ReadOnlyKeyValueStore<String, byte[]>> logStore() {
        KafkaStreams instance = log;
        if (instance == null || instance.state() != KafkaStreams.State.RUNNING) {
            return Optional.empty();
        }
        return Optional.of(instance.store(StoreQueryParameters.fromNameAndType(LOG_STORE, QueryableStoreTypes.keyValueStore())));
    }

    /** The producer of resend commands, once started. */
    Optional<Producer<String, byte[]>> producer() {
        return Optional.ofNullable(producer);
    }

    private static KafkaStreams started(KafkaStreams instance, String what) {
        instance.setUncaughtExceptionHandler(e -> {
            Log.errorf(e, "%s failed; replacing its thread", what);
            return StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        instance.start();
        return instance;
    }

    private static void close(KafkaStreams instance) {
        if (instance != null) {
            instance.close(Duration.ofSeconds(10));
        }
    }

    private Properties notifierProperties() {
        Properties props = common(config.applicationId());
        // A completion, the deliveries it creates and the input offsets commit together.
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.consumerPrefix("fetch.max.wait.ms"), 50);
        return props;
    }

    private Properties logProperties() {
        Properties props = common(config.logApplicationId());
        // Only a global store: no stream task needs a thread or a consumer group.
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 0);
        props.put(StreamsConfig.globalConsumerPrefix("fetch.max.wait.ms"), 50);
        props.put(StreamsConfig.globalConsumerPrefix("isolation.level"), "read_committed");
        return props;
    }

    private Properties common(String applicationId) {
        Properties props = new Properties();
        security().forEach(props::put);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir());
        return props;
    }

    private Properties producerProperties() {
        Properties props = new Properties();
        security().forEach(props::put);
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "kiln-webhook-outcomes");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        return props;
    }

    /** The shared {@code kafka.*} security, SASL and SSL settings, so that webhooks work on a secured cluster like the channels. */
    private Map<String, Object> security() {
        Map<String, Object> picked = new java.util.HashMap<>();
        sharedKafka.forEach((name, value) -> {
            if (name.startsWith("security.") || name.startsWith("sasl.") || name.startsWith("ssl.")) {
                picked.put(name, value);
            }
        });
        return picked;
    }
}
