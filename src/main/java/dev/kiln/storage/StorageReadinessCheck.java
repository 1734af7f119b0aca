package dev.kiln.storage;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Readiness is down while S3 is unreachable: a worker cannot store, the api cannot take uploads. */
@Readiness
@ApplicationScoped
public class StorageReadinessCheck implements HealthCheck {

    private final StorageHealth health;

    public StorageReadinessCheck(StorageHealth health) {
        this.health = health;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("storage")
                .status(health.isAvailable())
                .withData("since", health.outageSince().map(Object::toString).orElse("available"))
                .build();
    }
}
