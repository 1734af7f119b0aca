package dev.kiln.dispatch;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when the dispatcher's Streams instance runs (active or standby), or when this role has none. */
@Readiness
@ApplicationScoped
public class DispatcherHealthCheck implements HealthCheck {

    private final DispatcherStreams streams;

    public DispatcherHealthCheck(DispatcherStreams streams) {
        this.streams = streams;
    }

    @Override
    public HealthCheckResponse call() {
        if (!streams.isEnabled()) {
            return HealthCheckResponse.named("kiln-dispatcher").up().withData("role", "not run here").build();
        }
        return HealthCheckResponse.named("kiln-dispatcher").status(streams.isReady())
                .withData("state", streams.state()).build();
    }
}
