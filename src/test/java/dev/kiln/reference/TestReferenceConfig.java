package dev.kiln.reference;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** A {@link ReferenceFetchConfig} for tests that run without Quarkus. */
record TestReferenceConfig(Optional<List<String>> allowedHosts, long maxBytes, Duration timeout, int maxRedirects,
                           boolean allowPrivateAddresses) implements ReferenceFetchConfig {

    /** The production defaults with {@code hosts} allowed. */
    static TestReferenceConfig allowing(String... hosts) {
        return new TestReferenceConfig(Optional.of(List.of(hosts)), 50L * 1024 * 1024, Duration.ofSeconds(30), 3, false);
    }

    TestReferenceConfig withPrivateAddresses() {
        return new TestReferenceConfig(allowedHosts, maxBytes, timeout, maxRedirects, true);
    }

    TestReferenceConfig withMaxBytes(long bytes) {
        return new TestReferenceConfig(allowedHosts, bytes, timeout, maxRedirects, allowPrivateAddresses);
    }

    TestReferenceConfig withTimeout(Duration newTimeout) {
        return new TestReferenceConfig(allowedHosts, maxBytes, newTimeout, maxRedirects, allowPrivateAddresses);
    }
}
