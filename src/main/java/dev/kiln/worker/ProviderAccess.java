package dev.kiln.worker;

import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Whether the provider accepts our key. After a 401 or 403 no job can succeed and failing them
 * would be wrong (the jobs are fine, the key is not), so calls stop here: the worker's threads
 * wait, nothing is acknowledged, and readiness goes down ({@link ProviderAccessCheck}) until
 * the process is restarted with a good key; the unacknowledged jobs are then delivered again.
 */
@ApplicationScoped
public class ProviderAccess {

    private final AtomicReference<String> refusal = new AtomicReference<>();
    private volatile boolean shuttingDown;

    /** Records that the provider refused the key; logs the cause once. */
    public void revoke(String reason) {
        if (refusal.compareAndSet(null, reason)) {
            Log.errorf("the provider refused the API key; rendering stops until restart with a valid key (%s)", reason);
        }
    }

    /**
     * Blocks for as long as the key is refused.
     *
     * @throws InterruptedException when the process shuts down meanwhile: the job is left
     *                              unacknowledged, so it is delivered again after the restart
     */
    public void awaitAuthorized() throws InterruptedException {
        while (refusal.get() != null) {
            if (shuttingDown) {
                throw new InterruptedException("shutting down while the provider refuses the API key");
            }
            Thread.sleep(200);
        }
    }

    /**
     * Lets jobs held by a refused key go at shutdown instead of keeping the process alive; first
     * among the shutdown observers, so the graceful drain does not wait for them.
     */
    void onShutdown(@Observes @Priority(1) ShutdownEvent event) {
        shuttingDown = true;
    }

    /** Whether calls are currently refused. */
    public boolean isRevoked() {
        return refusal.get() != null;
    }

    /** Why calls are refused, if they are. */
    public java.util.Optional<String> refusal() {
        return java.util.Optional.ofNullable(refusal.get());
    }
}
