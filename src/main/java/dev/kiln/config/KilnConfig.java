package dev.kiln.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Settings that every role shares. */
@ConfigMapping(prefix = "kiln")
public interface KilnConfig {

    /** Which roles this process runs: {@code api}, {@code worker} or {@code all} (env {@code KILN_ROLE}). */
    @WithDefault("all")
    String role();

    /** The tenant that batches belong to until authentication assigns one per caller. */
    @WithDefault("default")
    String defaultTenant();

    /** The parsed {@link #role()}. */
    default Role parsedRole() {
        return Role.parse(role());
    }
}
