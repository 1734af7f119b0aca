package dev.kiln.budget;

import dev.kiln.config.KilnConfig;
import dev.kiln.tenant.TenantDirectory;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

/**
 * Runs the budget guard's Kafka Streams instance beside the dispatcher (roles {@code dispatcher}
 * and {@code all}). Exactly-once v2: a stop on {@code kiln.control} and the ledger change that
 * records it commit together, so a batch is stopped once, even across a crash. A tenant's
 * {@code monthly_budget_usd} is read from the {@link TenantDirectory} of this process, which
 * follows {@code kiln.tenants}.
 */
@ApplicationScoped
public class BudgetStreams {

    private final BudgetConfig config;
    private final TenantDirectory directory;
    private final Map<String, Object> shared;
    private final boolean enabled;
    private volatile KafkaStreams streams;

    public BudgetStreams(BudgetConfig config, KilnConfig kiln, TenantDirectory directory,
                         @Identifier("default-kafka-broker") Map<String, Object> shared) {
        this.config = config;
        this.directory = directory;
        this.shared = shared;
        this.enabled = config.enabled() && kiln.parsedRole().runsDispatcher();
    }

    void start(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        KafkaStreams instance = new KafkaStreams(
                BudgetTopology.build(tenant -> directory.tenant(tenant).quotas().monthlyBudgetUsd()), properties());
        instance.setStateListener((now, before) -> Log.debugf("budget guard streams %s -> %s", before, now));
        instance.setUncaughtExceptionHandler(e -> {
            Log.error("budget guard stream thread failed; replacing it (its tasks resume from their last commit)", e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        instance.start();
        streams = instance;
    }

    void stop(@Observes ShutdownEvent event) {
        KafkaStreams instance = streams;
        if (instance != null) {
            instance.close(Duration.ofSeconds(10));
        }
    }

    /** Whether this process runs the guard. */
    public boolean isEnabled() {
        return enabled;
    }

    private Properties properties() {
        Properties props = new Properties();
        shared.forEach((name, value) -> {
            if (AdminClientConfig.configNames().contains(name) && !name.equals(AdminClientConfig.CLIENT_ID_CONFIG)) {
                props.put(name, value);
            }
        });
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        try {
            // The stores are in memory and rebuilt from their changelogs; the folder holds only
            // Kafka Streams' lock and checkpoint files, so a fresh one per process is right.
            props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("kiln-budget-").toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, (int) config.commitInterval().toMillis());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueExceptionHandler.class);
        // A start must reach the guard within milliseconds of its publication.
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), 50);
        return props;
    }
}
