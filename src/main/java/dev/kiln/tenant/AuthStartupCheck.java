package dev.kiln.tenant;

import dev.kiln.config.KilnConfig;
import dev.kiln.config.Role;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.runtime.configuration.ConfigUtils;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.util.Optional;

/**
 * At start-up: the production profile refuses to run the api role without keys (unless
 * {@code KILN_AUTH=off}), and an open api says so once, loudly. Workers and the dispatcher serve
 * no clients and need no client keys.
 */
@ApplicationScoped
public class AuthStartupCheck {

    /** Before topic set-up (10): a refused configuration should fail before touching Kafka. */
    static final int REFUSE_PRIORITY = 5;
    /** After the directory has read kiln.tenants ({@link TenantTopicReader#PRIORITY}). */
    static final int WARN_PRIORITY = 30;

    private final AuthConfig config;
    private final KilnConfig kiln;
    private final TenantDirectory directory;

    public AuthStartupCheck(AuthConfig config, KilnConfig kiln, TenantDirectory directory) {
        this.config = config;
        this.kiln = kiln;
        this.directory = directory;
    }

    void refuse(@Observes @Priority(REFUSE_PRIORITY) StartupEvent event) {
        boolean prod = ConfigUtils.getProfiles().contains("prod");
        refusal(prod, kiln.parsedRole(), config.parsedMode(), present(config.apiKeys()), present(config.adminApiKey()),
                present(config.secretsKey()))
                .ifPresent(reason -> {
                    throw new IllegalStateException(reason);
                });
        // Parsed now so that a malformed KILN_API_KEYS stops the start with its message.
        ApiKeys.parse(config.apiKeys());
    }

    void warn(@Observes @Priority(WARN_PRIORITY) StartupEvent event) {
        if (!kiln.parsedRole().runsApi() || !directory.isOpen()) {
            return;
        }
        if (config.parsedMode() == AuthMode.OFF) {
            Log.warnf("AUTHENTICATION IS OFF (KILN_AUTH=off): every caller of /v1 is tenant '%s'", directory.defaultTenant());
        } else {
            Log.warnf("NO API KEYS CONFIGURED: the API is open and every caller is tenant '%s'. "
                    + "Set KILN_API_KEYS (tenant=key,...) and KILN_ADMIN_API_KEY to require keys.", directory.defaultTenant());
        }
    }

    /**
     * Why this process must not start, if it must not: in the production profile, an api role
     * that requires keys needs some key to check ({@code KILN_API_KEYS} or
     * {@code KILN_ADMIN_API_KEY}) and a root for webhook secrets ({@code KILN_SECRETS_KEY} or
     * the admin key), or else {@code KILN_AUTH=off}.
     */
    public static Optional<String> refusal(boolean prod, Role role, AuthMode mode, boolean apiKeys, boolean adminKey,
                                           boolean secretsKey) {
        if (!prod || !role.runsApi() || mode == AuthMode.OFF) {
            return Optional.empty();
        }
        if (!apiKeys && !adminKey) {
            return Optional.of("The api role refuses to start in production without keys: set KILN_API_KEYS "
                    + "(tenant=key,... or tenant=sha256:<hex>) and/or KILN_ADMIN_API_KEY, or KILN_AUTH=off to run it open "
                    + "on a trusted network");
        }
        if (!secretsKey && !adminKey) {
            return Optional.of("The api role refuses to start in production without a root for webhook secrets: "
                    + "set KILN_SECRETS_KEY (at least " + SecretBox.MIN_ROOT_LENGTH + " random characters) or KILN_ADMIN_API_KEY");
        }
        return Optional.empty();
    }

    private static boolean present(Optional<String> value) {
        return value.filter(v -> !v.isBlank()).isPresent();
    }
}
