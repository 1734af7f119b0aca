package dev.kiln.webhook;

import java.util.List;

/**
 * Where a tenant's signing secrets come from. {@link ConfiguredWebhookSecrets} reads them from
 * configuration; the tenant service replaces it with a bean of its own (rotation included), which
 * Quarkus then prefers.
 */
public interface WebhookSecrets {

    /**
     * The secrets that sign the tenant's deliveries now, each {@code whsec_} and base64: the current
     * one first, and during a rotation the previous one too (for a day). Every one of them signs each
     * delivery, as Standard Webhooks allows. Empty when the tenant has none: nothing is sent unsigned.
     */
    List<String> signingSecrets(String tenant);
}
