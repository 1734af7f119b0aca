package dev.kiln.messaging;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Readiness is down while the Kafka cluster does not answer. */
@Readiness
@ApplicationScoped
public class BrokerReadinessCheck implements HealthCheck {

    private final BrokerHealth health;

    public BrokerReadinessCheck(BrokerHealth health) {
        this.health = health;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("kafka-broker")
                .status(health.isAvailable())
                .withData("since", health.outageSince().map(Object::toString).orElse("available"))
                .build();
    }
}
