package dev.kiln.messaging;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** The transactional producers that write an accepted batch all at once ({@link TransactionalPublisher}). */
@ConfigMapping(prefix = "kiln.transactions")
public interface TransactionsConfig {

    /**
     * This process's stable name ({@code KILN_INSTANCE_ID}); the producers' {@code transactional.id}s are
     * {@code kiln-intake-<instance>-<n>}. A restarted process with the same name aborts whatever its
     * predecessor left open at once; without one, a random name is used and a transaction left open by
     * a crash blocks read_committed readers of its partitions until {@link #timeout()}.
     */
    Optional<String> instanceId();

    /** Producers in the pool: how many batches this process can write at the same moment. */
    @WithDefault("2")
    int producers();

    /** {@code transaction.timeout.ms}: the broker aborts a transaction left open longer than this. */
    @WithDefault("PT90S")
    Duration timeout();

    /** How long a batch waits for a free producer before it is answered 503. */
    @WithDefault("PT30S")
    Duration acquireTimeout();
}
