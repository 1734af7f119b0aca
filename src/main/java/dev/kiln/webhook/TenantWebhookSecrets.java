package dev.kiln.webhook;

import dev.kiln.tenant.TenantDirectory;
import dev.kiln.tenant.WebhookSecret;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.util.List;

/**
 * Signing secrets from the tenant directory: the secret {@code GET /v1/tenant} shows, and after
 * a rotation the previous one too until it expires a day later, so receivers that still hold the
 * old secret keep verifying while they switch.
 */
@ApplicationScoped
public class TenantWebhookSecrets implements WebhookSecrets {

    private final TenantDirectory directory;

    public TenantWebhookSecrets(TenantDirectory directory) {
        this.directory = directory;
    }

    @Override
    public List<String> signingSecrets(String tenant) {
        return directory.tenant(tenant).signingSecrets(Instant.now()).stream().map(WebhookSecret::value).toList();
    }
}
