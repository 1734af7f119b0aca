package dev.kiln.tenant;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Authentication, tenants and their default quotas. The secrets here come from the environment
 * only ({@code KILN_API_KEYS}, {@code KILN_ADMIN_API_KEY}, {@code KILN_SECRETS_KEY}); nothing
 * logs this mapping, and {@link ApiKeys} and {@link KeyHash} redact themselves.
 */
@ConfigMapping(prefix = "kiln.auth")
public interface AuthConfig {

    /** {@code required} (the default) or {@code off} (env {@code KILN_AUTH}); see {@link AuthMode}. */
    @WithDefault("required")
    String mode();

    /**
     * Tenants' keys (env {@code KILN_API_KEYS}): comma-separated {@code tenant=key} pairs, or
     * {@code tenant=sha256:<hex>} to keep only the key's hash in the environment. Empty: no
     * configured keys (admin-created keys still count).
     */
    Optional<String> apiKeys();

    /** The key of the admin API under {@code /v1/admin/} (env {@code KILN_ADMIN_API_KEY}); unset disables it. */
    Optional<String> adminApiKey();

    /**
     * The root of the webhook secrets (env {@code KILN_SECRETS_KEY}, at least 32 characters): it
     * seals the secrets kept in {@code kiln.tenants} (AES-256-GCM) and derives each configured
     * tenant's first secret. Unset: derived from the admin key; in production one of them is required.
     */
    Optional<String> secretsKey();

    /** Paths outside {@code /v1} that need no key (the web console's page, later). */
    @WithDefault("/")
    List<String> publicPaths();

    /** How long a rotated-out webhook secret still signs, beside the new one. */
    @WithDefault("PT24H")
    Duration webhookSecretOverlap();

    /** How long an api replica waits at start-up to read {@code kiln.tenants} up to its end. */
    @WithDefault("PT30S")
    Duration directoryStartupTimeout();

    /** How long an admin change waits for this replica's own directory to show it before answering. */
    @WithDefault("PT10S")
    Duration changeVisibilityTimeout();

    /** Quotas of a tenant that the admin API has not set. */
    Quotas quotas();

    /** The request rate per key at intake (writes: POST, PUT, PATCH, DELETE). */
    RateLimit rateLimit();

    /** The default quotas of every tenant. */
    interface Quotas {

        /** Weight in the dispatcher's fair share across tenants. */
        @WithDefault("1")
        int weight();

        /** Most items one batch of the tenant may hold (over it: 400, like {@code kiln.intake.max-items}). */
        @WithDefault("100000")
        int maxItemsPerBatch();

        /** Most images the tenant may have pending at once (over it: 429). */
        @WithDefault("100000")
        long maxPendingImages();

        /** Largest share of the organisation's images per minute the tenant may use, from 0 to 1. */
        @WithDefault("1.0")
        double ipmShareCap();

        /** Monthly budget in USD; unset means no budget. */
        Optional<BigDecimal> monthlyBudgetUsd();
    }

    /** A token bucket per key. */
    interface RateLimit {

        /** Sustained write requests per second per key; 0 turns the limit off. */
        @WithDefault("10")
        double requestsPerSecond();

        /** Write requests a key may send at once after a quiet spell. */
        @WithDefault("50")
        int burst();
    }

    /** The parsed {@link #mode()}. */
    default AuthMode parsedMode() {
        return AuthMode.parse(mode());
    }
}
