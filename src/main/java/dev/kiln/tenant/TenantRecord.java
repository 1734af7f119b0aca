package dev.kiln.tenant;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

/**
 * The value of one tenant on the compacted topic {@code kiln.tenants} (key: the tenant id):
 * what the admin API changed over the configuration. It holds key hashes, never keys, and webhook
 * secrets only sealed ({@link SecretBox}); a null value (tombstone) forgets the tenant's changes.
 *
 * @param tenant         the tenant id, equal to the record's key
 * @param weight         the weight set by the admin API; null keeps the configured default
 * @param quotas         quotas set by the admin API; each null field keeps the default
 * @param keys           keys created by the admin API, as hashes
 * @param revokedKeys    SHA-256 hex of configured keys revoked by the admin API
 * @param webhookSecrets sealed webhook secrets, current first; empty keeps the derived one
 * @param updatedAt      when the admin API last changed it
 */
public record TenantRecord(String tenant, Integer weight, QuotaOverrides quotas, List<StoredKey> keys,
                           List<String> revokedKeys, List<SealedSecret> webhookSecrets, Instant updatedAt) {

    public TenantRecord {
        keys = keys == null ? List.of() : List.copyOf(keys);
        revokedKeys = revokedKeys == null ? List.of() : List.copyOf(revokedKeys);
        webhookSecrets = webhookSecrets == null ? List.of() : List.copyOf(webhookSecrets);
    }

    /** A tenant the admin API has not changed yet. */
    static TenantRecord empty(String tenant) {
        return new TenantRecord(tenant, null, null, List.of(), List.of(), List.of(), null);
    }

    /**
     * Quotas set by the admin API; a null field keeps the configured default.
     *
     * @param maxItemsPerBatch most items in one batch
     * @param maxPendingImages most images pending at once
     * @param ipmShareCap      largest share of the organisation's IPM, 0 to 1
     * @param monthlyBudgetUsd monthly budget in USD
     */
    public record QuotaOverrides(Integer maxItemsPerBatch, Long maxPendingImages, Double ipmShareCap,
                                 BigDecimal monthlyBudgetUsd) {

        /** These overrides with every non-null field of {@code changes} laid over them. */
        QuotaOverrides merge(QuotaOverrides changes) {
            if (changes == null) {
                return this;
            }
            return new QuotaOverrides(
                    changes.maxItemsPerBatch != null ? changes.maxItemsPerBatch : maxItemsPerBatch,
                    changes.maxPendingImages != null ? changes.maxPendingImages : maxPendingImages,
                    changes.ipmShareCap != null ? changes.ipmShareCap : ipmShareCap,
                    changes.monthlyBudgetUsd != null ? changes.monthlyBudgetUsd : monthlyBudgetUsd);
        }
    }

    /**
     * A key created by the admin API.
     *
     * @param id        its public id, {@code key_} and the hash's first 12 hex digits
     * @param sha256    the hash of the key, 64 hex digits
     * @param label     what the admin called it, if anything
     * @param createdAt when it was created
     */
    public record StoredKey(String id, String sha256, String label, Instant createdAt) {
    }

    /**
     * A webhook secret as kept on the topic.
     *
     * @param sealed    the secret sealed by {@link SecretBox} for this tenant
     * @param expiresAt when it stops signing; null for the current one
     */
    public record SealedSecret(String sealed, Instant expiresAt) {
    }

    TenantRecord withWeight(Integer newWeight, QuotaOverrides newQuotas, Instant now) {
        return new TenantRecord(tenant, newWeight, newQuotas, keys, revokedKeys, webhookSecrets, now);
    }

    TenantRecord withKeys(List<StoredKey> newKeys, List<String> newRevoked, Instant now) {
        return new TenantRecord(tenant, weight, quotas, newKeys, newRevoked, webhookSecrets, now);
    }

    TenantRecord withWebhookSecrets(List<SealedSecret> secrets, Instant now) {
        return new TenantRecord(tenant, weight, quotas, keys, revokedKeys, secrets, now);
    }
}
