package dev.kiln.webhook;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Signing secrets from {@code kiln.webhooks.signing-secrets}, until the tenant service provides its own. */
@DefaultBean
@ApplicationScoped
public class ConfiguredWebhookSecrets implements WebhookSecrets {

    private final Map<String, List<String>> byTenant;

    @Inject
    public ConfiguredWebhookSecrets(WebhookConfig config) {
        this(config.signingSecrets().orElse(List.of()));
    }

    /** From {@code tenant=whsec_…} pairs; refuses a malformed one at start-up rather than at the first delivery. */
    ConfiguredWebhookSecrets(List<String> pairs) {
        Map<String, List<String>> secrets = new HashMap<>();
        for (String pair : pairs) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("kiln.webhooks.signing-secrets takes tenant=whsec_… pairs");
            }
            String tenant = pair.substring(0, eq).trim();
            String secret = pair.substring(eq + 1).trim();
            WebhookSigner.key(secret);
            secrets.computeIfAbsent(tenant, t -> new ArrayList<>()).add(secret);
        }
        secrets.replaceAll((tenant, list) -> List.copyOf(list));
        this.byTenant = Map.copyOf(secrets);
    }

    @Override
    public List<String> signingSecrets(String tenant) {
        return byTenant.getOrDefault(tenant, List.of());
    }
}
