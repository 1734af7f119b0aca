package dev.kiln.dispatch;

import dev.kiln.config.KilnConfig;
import dev.kiln.provider.ConcurrencyConfig;
import dev.kiln.provider.ConcurrencyTarget;
import dev.kiln.provider.RateConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs the dispatcher's Kafka Streams instance in the roles that include it ({@code dispatcher},
 * {@code all}), like the status view runs its own in the api role. Exactly-once v2: a release to
 * {@code kiln.jobs}, its status events and the store changes that record it commit in one
 * transaction. One standby replica keeps a warm copy of the stores on a second instance.
 */
@ApplicationScoped
public class DispatcherStreams {

    private final DispatcherConfig config;
    private final RateConfig rate;
    private final Map<String, Object> connection;
    private final TenantWeights weights;
    private final ConcurrencyConfig concurrency;
    private final MeterRegistry registry;
    private final boolean enabled;
    private volatile KafkaStreams streams;
    private volatile boolean runningOnce;
    private ScheduledExecutorService background;
    private StatusTail tail;
    private Admin admin;

    public DispatcherStreams(DispatcherConfig config, RateConfig rate, ConcurrencyConfig concurrency, KilnConfig kiln,
                             TenantWeights weights, MeterRegistry registry,
                             @Identifier("default-kafka-broker") Map<String, Object> shared) {
        this.config = config;
        this.rate = rate;
        this.concurrency = concurrency;
        this.connection = KafkaClientSettings.connection(shared);
        this.weights = weights;
        this.registry = registry;
        this.enabled = config.enabled() && kiln.parsedRole().runsDispatcher();
    }

    void start(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        UnstartedJobs unstarted = new UnstartedJobs(config.unstartedTimeout().toMillis());
        Map<String, Object> adminConfig = new HashMap<>(connection);
        adminConfig.put(AdminClientConfig.CLIENT_ID_CONFIG, "kiln-dispatcher-capacity");
        admin = Admin.create(adminConfig);
        // Without a rate limit each worker keeps the in-flight target's fallback, the same figure
        // its ConcurrencyTarget uses; under a rate the window needs no capacity at all.
        int perWorker = ConcurrencyTarget.of(concurrency, config.workerMaxInFlight()).withoutRate();
        WorkerCapacity capacity = new WorkerCapacity(admin, config.workersGroup(), perWorker);
        ReleaseWindow window = new ReleaseWindow(rate.ipm(), config.lead(), rate.burst(), config.burstShare(),
                config.minWindow(), config.maxWindow());
        ReleaseGate gate = new ReleaseGate(() -> window.target(capacity.current()), unstarted);

        background = Executors.newScheduledThreadPool(2, Thread.ofPlatform().daemon().name("kiln-dispatcher-", 0).factory());
        long refresh = config.capacityRefresh().toMillis();
        background.scheduleWithFixedDelay(capacity, 0, refresh, TimeUnit.MILLISECONDS);
        tail = new StatusTail(connection, unstarted);
        background.execute(tail);

        DispatchTopology.Settings settings = new DispatchTopology.Settings(config.tick(), config.quantumImages(),
                config.maxReleasesPerTick(), config.retention(), config.purgeInterval(), rate.ipm());
        KafkaStreams instance = new KafkaStreams(
                DispatchTopology.build(settings, weights, gate, new DispatchMetrics(registry)), properties());
        instance.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.RUNNING) {
                runningOnce = true;
            }
            Log.infof("dispatcher streams %s -> %s", before, now);
        });
        instance.setUncaughtExceptionHandler(e -> {
            Log.error("dispatcher stream thread failed; replacing it (the task resumes from its last commit)", e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        instance.start();
        streams = instance;
        Log.infof("dispatcher started: window %d jobs at %.0f IPM", window.target(0), rate.ipm());
    }

    void stop(@Observes ShutdownEvent event) {
        KafkaStreams instance = streams;
        if (instance != null) {
            instance.close(Duration.ofSeconds(10));
        }
        if (tail != null) {
            tail.stop();
        }
        if (background != null) {
            background.shutdownNow();
            admin.close(Duration.ofSeconds(2));
        }
    }

    /** Whether this process runs the dispatcher at all. */
    public boolean isEnabled() {
        return enabled;
    }

    /**
     * Whether the instance is up: running, or rebalancing after it has run (a rebalance moves the
     * task in seconds and is no reason to call the instance unready).
     */
    public boolean isReady() {
        KafkaStreams instance = streams;
        if (instance == null) {
            return false;
        }
        KafkaStreams.State state = instance.state();
        return state == KafkaStreams.State.RUNNING || (runningOnce && state == KafkaStreams.State.REBALANCING);
    }

    /** The instance's state, for the health check. */
    String state() {
        KafkaStreams instance = streams;
        return instance == null ? "NOT_STARTED" : instance.state().name();
    }

    private Properties properties() {
        return properties(connection, config.applicationId(), config.stateDir(), config.standbyReplicas(),
                config.sessionTimeout());
    }

    /** The Streams settings of a dispatcher instance. */
    static Properties properties(Map<String, Object> connection, String applicationId, String stateDir,
                                 int standbyReplicas, Duration sessionTimeout) {
        Properties props = new Properties();
        props.putAll(connection);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, standbyReplicas);
        // One dispatch task exists (one partition); the settlement readers of kiln.status only parse final events.
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        // A record that is not a staged chunk or a command is logged and skipped, not fatal.
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueExceptionHandler.class);
        // No static membership on purpose: a killed instance should lose its task after the
        // session timeout, and its standby takes over with warm stores.
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), (int) sessionTimeout.toMillis());
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG),
                (int) Math.max(500, sessionTimeout.toMillis() / 3));
        // Commands and chunks should be taken in within milliseconds of their commit.
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), 50);
        return props;
    }
}
