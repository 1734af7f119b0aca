package dev.kiln.provider;

import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * Whether the provider accepts our key. After a 401 or 403 no job can succeed and failing them
 * would be wrong (the jobs are fine, the key is not), so calls stop here: the worker's threads
 * wait, nothing is acknowledged, and readiness goes down ({@link ProviderAccessCheck}) until
 * the process is restarted with a good key; the unacknowledged jobs are then delivered again.
 */
@ApplicationScoped
public class ProviderAccess {

    private final AtomicReference<String> refusal = new AtomicReference<>();

    /** Records that the provider refused the key; logs the cause once. */
    public void revoke(String reason) {
        if (refusal.compareAndSet(null, reason)) {
            Log.errorf("the provider refused the API key; rendering stops until restart with a valid key (%s)", reason);
        }
    }

    /**
     * Blocks for as long as the key is refused, asking {@code giveUp} every 200 ms (at shutdown
     * the job is left unacknowledged, to be delivered again after the restart).
     *
     * @return true once calls are allowed, false when {@code giveUp} said so first
     */
    public boolean awaitAuthorized(BooleanSupplier giveUp) throws InterruptedException {
        while (refusal.get() != null) {
            if (giveUp.getAsBoolean()) {
                return false;
            }
            Thread.sleep(200);
        }
        return true;
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
