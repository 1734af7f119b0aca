package dev.kiln.reference;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Reference images of edits: which {@code https://} URLs may be fetched, and within which limits.
 * The intake checks a URL's scheme and host against {@link #allowsHost(String)}; the worker checks
 * them again on every hop, together with the addresses the host resolves to.
 */
@ConfigMapping(prefix = "kiln.references")
public interface ReferenceFetchConfig {

    /**
     * Hosts that URL references may name (env {@code KILN_REFERENCES_ALLOWED_HOSTS},
     * comma-separated). A name matches itself, case-insensitively; {@code *.example.com} matches
     * every host under {@code example.com} but not {@code example.com} itself. Empty, the default,
     * means no URL reference is accepted.
     */
    Optional<List<String>> allowedHosts();

    /** The largest reference or mask fetched, in bytes; the provider refuses input images of 50 MB or more. */
    @WithDefault("52428800")
    long maxBytes();

    /** The longest one URL fetch may take, redirects and body included. */
    @WithDefault("PT30S")
    Duration timeout();

    /** Redirects followed per URL; each hop is checked like the first. */
    @WithDefault("3")
    int maxRedirects();

    /**
     * Whether URLs may resolve to loopback, private, link-local and other internal addresses.
     * Only for tests, whose servers listen on loopback; in production this would let a batch reach
     * the worker's own network (cloud metadata endpoints, internal services).
     */
    @WithDefault("false")
    boolean allowPrivateAddresses();

    /** Whether {@code host} is on {@link #allowedHosts()}. */
    default boolean allowsHost(String host) {
        if (host == null || host.isEmpty()) {
            return false;
        }
        String candidate = normalise(host);
        for (String allowed : allowedHosts().orElse(List.of())) {
            String entry = normalise(allowed.trim());
            if (entry.isEmpty()) {
                continue;
            }
            if (entry.startsWith("*.")) {
                String suffix = entry.substring(1);
                if (candidate.endsWith(suffix) && candidate.length() > suffix.length()) {
                    return true;
                }
            } else if (entry.equals(candidate)) {
                return true;
            }
        }
        return false;
    }

    /** Lower case, without a trailing root dot or IPv6 brackets, so that spellings of one host compare equal. */
    private static String normalise(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h;
    }
}
