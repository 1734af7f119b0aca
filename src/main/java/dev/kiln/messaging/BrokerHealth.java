package dev.kiln.messaging;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Whether the Kafka cluster answers, probed every {@code kiln.kafka.probe-interval} with a
 * describe-cluster call. An outage is logged twice, when it starts and when it ends; readiness
 * ({@link BrokerReadinessCheck}) and intake (503 with {@code Retry-After}) read
 * {@link #isAvailable()}; {@code kiln_broker_available} is 1 or 0. Clients themselves reconnect
 * on their own; this only makes the outage visible.
 */
@ApplicationScoped
public class BrokerHealth {

    private final KafkaAdmins admins;
    private final KafkaClientConfig config;
    private volatile Instant outageSince;
    private volatile Thread prober;

    public BrokerHealth(KafkaAdmins admins, KafkaClientConfig config, MeterRegistry registry) {
        this.admins = admins;
        this.config = config;
        Gauge.builder("kiln.broker.available", this, h -> h.isAvailable() ? 1 : 0)
                .description("1 while the Kafka cluster answers, 0 during an outage").register(registry);
    }

    /** Whether the last probe got an answer. */
    public boolean isAvailable() {
        return outageSince == null;
    }

    /** When the current outage began, if the broker is unreachable. */
    public Optional<Instant> outageSince() {
        return Optional.ofNullable(outageSince);
    }

    /** A suggestion for clients told to come back later (a 503's {@code Retry-After}). */
    public Duration retryAfter() {
        return config.probeInterval().multipliedBy(2);
    }

    void start(@Observes StartupEvent event) {
        prober = Thread.ofVirtual().name("kiln-broker-probe").start(this::probeLoop);
    }

    void stop(@Observes ShutdownEvent event) {
        Thread running = prober;
        if (running != null) {
            running.interrupt();
        }
    }

    private void probeLoop() {
        try (Admin admin = admins.create("kiln-broker-probe")) {
            while (!Thread.currentThread().isInterrupted()) {
                probe(admin);
                Thread.sleep(config.probeInterval());
            }
        } catch (InterruptedException e) {
            // shutdown
        } catch (RuntimeException e) {
            Log.warnf("the broker probe stopped: %s", e.toString());
        }
    }

    private void probe(Admin admin) throws InterruptedException {
        long timeout = config.probeTimeout().toMillis();
        try {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) timeout)).nodes()
                    .get(timeout + 500, TimeUnit.MILLISECONDS);
            Instant began = outageSince;
            if (began != null) {
                outageSince = null;
                Log.warnf("broker outage ended: Kafka answers again after %s (since %s)",
                        Duration.between(began, Instant.now()).withNanos(0), began);
            }
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            if (outageSince == null) {
                outageSince = Instant.now();
                Log.warnf("broker outage began: Kafka does not answer (%s); work waits for it", e.toString());
            }
        }
    }
}
