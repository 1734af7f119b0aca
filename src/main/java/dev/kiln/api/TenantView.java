package dev.kiln.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.kiln.tenant.Tenant;
import dev.kiln.tenant.TenantQuotas;
import dev.kiln.tenant.TenantUsage;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/tenant}: who the key is. The one answer that shows the webhook secrets.
 *
 * @param id             the tenant id
 * @param weight         its weight in the fair share
 * @param quotas         what it may use
 * @param usage          what it uses now; null figures are not measured yet
 * @param webhookSecret  the secret that signs from now on
 * @param webhookSecrets every secret that signs now, current first, with when each stops
 */
public record TenantView(String id, int weight, Quotas quotas, Usage usage, String webhookSecret,
                         List<Secret> webhookSecrets) {

    static TenantView of(Tenant tenant, TenantUsage usage, Instant now) {
        return new TenantView(tenant.id(), tenant.weight(), Quotas.of(tenant.quotas()),
                new Usage(usage.pendingImages(), usage.monthImages(), usage.monthCostUsd()),
                tenant.webhookSecret().value(),
                tenant.signingSecrets(now).stream().map(s -> new Secret(s.value(), s.expiresAt())).toList());
    }

    /**
     * A tenant's quotas on the wire.
     *
     * @param maxItemsPerBatch most items in one batch
     * @param maxPendingImages most images pending at once
     * @param ipmShareCap      largest share of the organisation's IPM
     * @param monthlyBudgetUsd monthly budget in USD; null when none
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Quotas(int maxItemsPerBatch, long maxPendingImages, double ipmShareCap, BigDecimal monthlyBudgetUsd) {
        static Quotas of(TenantQuotas quotas) {
            return new Quotas(quotas.maxItemsPerBatch(), quotas.maxPendingImages(), quotas.ipmShareCap(),
                    quotas.monthlyBudgetUsd());
        }
    }

    /**
     * Usage; a null figure is not measured yet.
     *
     * @param pendingImages images accepted and not yet rendered
     * @param monthImages   images rendered this month (UTC)
     * @param monthCostUsd  cost this month (UTC), in USD
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Usage(Long pendingImages, Long monthImages, BigDecimal monthCostUsd) {
    }

    /**
     * One signing secret.
     *
     * @param secret    {@code whsec_…}
     * @param expiresAt when it stops signing; null for the current one
     */
    public record Secret(String secret, Instant expiresAt) {
        @Override
        public String toString() {
            return "Secret[***]";
        }
    }

    @Override
    public String toString() {
        return "TenantView[id=" + id + "]";
    }
}
