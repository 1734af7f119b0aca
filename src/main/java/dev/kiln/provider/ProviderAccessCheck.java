package dev.kiln.provider;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Readiness is down while the provider refuses the API key; the reason never includes the key. */
@Readiness
@ApplicationScoped
public class ProviderAccessCheck implements HealthCheck {

    private final ProviderAccess access;

    public ProviderAccessCheck(ProviderAccess access) {
        this.access = access;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("provider-access")
                .status(!access.isRevoked())
                .withData("reason", access.refusal().orElse("ok"))
                .build();
    }
}
