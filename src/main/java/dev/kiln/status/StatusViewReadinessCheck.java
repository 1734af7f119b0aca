package dev.kiln.status;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness is down until the status view has restored its store from {@code kiln.status} and
 * runs. Before that, every status read would answer 503 (or, worse, an empty page), so a load
 * balancer must not send clients to this replica yet: after a rebuild (a new volume, a deleted
 * state dir) that can take minutes. Processes without the api role do not run the view and report
 * it as up.
 */
@Readiness
@ApplicationScoped
public class StatusViewReadinessCheck implements HealthCheck {

    private final StatusViewStreams streams;

    public StatusViewReadinessCheck(StatusViewStreams streams) {
        this.streams = streams;
    }

    @Override
    public HealthCheckResponse call() {
        if (!streams.runsHere()) {
            return HealthCheckResponse.named("status-view").up().withData("state", "not run by this role").build();
        }
        return HealthCheckResponse.named("status-view")
                .status(streams.isRunning())
                .withData("state", streams.stateName())
                .build();
    }
}
