package dev.kiln.messaging;

import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import io.smallrye.reactive.messaging.kafka.KafkaProducer;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;

import java.time.Duration;

/**
 * Closes the Kafka producers of the outgoing channels ({@code jobs-out}, {@code status-out}) at
 * the very end of shutdown, after the worker's graceful shutdown has announced what it finished.
 *
 * <p>Why: when Kiln stops without its JVM ending, SmallRye's connector left these producers open,
 * each with a network thread that reconnects, forever, to a broker that may be gone. A test JVM
 * restarts Kiln dozens of times (each test profile), and one full run held 11 pairs of them after
 * 11 restarts, all retrying dead ports. Closing flushes what is buffered and ends the thread; a
 * second close by the connector is a no-op.
 */
@ApplicationScoped
class OutgoingProducers {

    /** Long enough to flush a few buffered records to a live broker; a dead one is not waited for longer. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private final KafkaClientService clients;

    OutgoingProducers(KafkaClientService clients) {
        this.clients = clients;
    }

    void close(@Observes @Priority(Interceptor.Priority.PLATFORM_AFTER + 1000) ShutdownEvent event) {
        for (String channel : clients.getProducerChannels()) {
            try {
                KafkaProducer<Object, Object> producer = clients.getProducer(channel);
                if (producer != null) {
                    producer.unwrap().close(CLOSE_TIMEOUT);
                }
            } catch (RuntimeException e) {
                // Shutdown goes on: the worst case is the open producer this class exists to avoid.
                Log.debugf("closing the producer of channel %s failed: %s", channel, e.toString());
            }
        }
    }
}
