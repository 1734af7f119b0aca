package dev.kiln.tenant;

import java.time.Instant;
import java.util.List;

/**
 * A tenant as every part sees it: its id, its weight in the fair share, its quotas and its
 * webhook signing secrets (the current one first; a rotated-out one stays for a day).
 *
 * @param id             the tenant id, the first segment of its object keys
 * @param weight         its weight in the dispatcher's fair share across tenants
 * @param quotas         what it may use
 * @param webhookSecrets secrets that sign its webhooks, current first; never logged
 */
public record Tenant(String id, int weight, TenantQuotas quotas, List<WebhookSecret> webhookSecrets) {

    public Tenant {
        if (weight < 1) {
            throw new IllegalArgumentException("weight must be at least 1");
        }
        webhookSecrets = List.copyOf(webhookSecrets);
    }

    /** The secret that signs from now on. */
    public WebhookSecret webhookSecret() {
        return webhookSecrets.getFirst();
    }

    /** Every secret that signs at {@code now}: a delivery carries one signature for each. */
    public List<WebhookSecret> signingSecrets(Instant now) {
        return webhookSecrets.stream().filter(s -> s.validAt(now)).toList();
    }

    @Override
    public String toString() {
        return "Tenant[id=" + id + ", weight=" + weight + ", quotas=" + quotas + ", webhookSecrets=" + webhookSecrets.size() + "]";
    }
}
