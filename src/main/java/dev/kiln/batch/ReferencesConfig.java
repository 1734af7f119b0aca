package dev.kiln.batch;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Which reference images a batch may name, and how intake checks them. */
@ConfigMapping(prefix = "kiln.references")
public interface ReferencesConfig {

    /**
     * Hosts whose {@code https://} URLs may be given as reference images or masks (env
     * {@code KILN_REFERENCES_ALLOWED_HOSTS}, comma-separated). An entry {@code *.example.com}
     * allows every sub-domain of example.com. Empty by default: no URL references at all.
     */
    Optional<List<String>> allowedHosts();

    /**
     * How many S3 look-ups of references one batch runs at once. Each distinct reference is
     * looked up once per batch, however many items share it.
     */
    @WithDefault("16")
    int lookupConcurrency();

    /** True when {@code host} is on {@link #allowedHosts()}; case-insensitive. */
    default boolean allows(String host) {
        if (host == null) {
            return false;
        }
        String h = host.toLowerCase(Locale.ROOT);
        for (String entry : allowedHosts().orElse(List.of())) {
            String e = entry.trim().toLowerCase(Locale.ROOT);
            if (e.startsWith("*.") ? h.endsWith(e.substring(1)) : h.equals(e)) {
                return true;
            }
        }
        return false;
    }
}
