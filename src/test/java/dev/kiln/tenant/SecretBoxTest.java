package dev.kiln.tenant;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Base64;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecretBoxTest {

    private static final String ROOT = "a-secrets-root-of-at-least-32-characters";

    @Test
    void sealsForOneTenantAndOpensOnlyForIt() {
        SecretBox box = SecretBox.of(Optional.of(ROOT), Optional.empty());
        String secret = WebhookSecret.generate().value();
        String sealed = box.seal("acme", secret);
        assertThat(sealed).startsWith("v1.").doesNotContain(secret).doesNotContain(secret.substring(6));
        assertThat(box.seal("acme", secret)).isNotEqualTo(sealed);
        assertThat(box.open("acme", sealed)).isEqualTo(secret);
        assertThatThrownBy(() -> box.open("globex", sealed)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining(secret);
        assertThatThrownBy(() -> SecretBox.of(Optional.of(ROOT + "x"), Optional.empty()).open("acme", sealed))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] bytes = Base64.getUrlDecoder().decode(sealed.substring(3));
        bytes[bytes.length - 1] ^= 1;
        String tampered = "v1." + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        assertThatThrownBy(() -> box.open("acme", tampered)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void derivesTheSameFirstWebhookSecretOnEveryReplicaAndADifferentOnePerTenantAndRoot() {
        SecretBox one = SecretBox.of(Optional.of(ROOT), Optional.empty());
        SecretBox other = SecretBox.of(Optional.of(ROOT), Optional.empty());
        WebhookSecret acme = one.derivedWebhookSecret("acme");
        assertThat(acme.value()).startsWith("whsec_");
        assertThat(acme.key()).hasSize(32);
        assertThat(other.derivedWebhookSecret("acme")).isEqualTo(acme);
        assertThat(one.derivedWebhookSecret("globex")).isNotEqualTo(acme);
        assertThat(SecretBox.of(Optional.empty(), Optional.of("an-admin-key-0123456789")).derivedWebhookSecret("acme"))
                .isNotEqualTo(acme);
    }

    @Test
    void fallsBackToTheAdminKeyThenToTheLocalRoot() {
        assertThat(SecretBox.of(Optional.of(ROOT), Optional.empty()).isLocalFallback()).isFalse();
        assertThat(SecretBox.of(Optional.empty(), Optional.of("an-admin-key-0123456789")).isLocalFallback()).isFalse();
        assertThat(SecretBox.of(Optional.empty(), Optional.empty()).isLocalFallback()).isTrue();
        assertThatThrownBy(() -> SecretBox.of(Optional.of("short"), Optional.empty())).hasMessageContaining("32")
                .hasMessageNotContaining("short");
        assertThat(SecretBox.of(Optional.of(ROOT), Optional.empty()).toString()).doesNotContain(ROOT);
    }

    @Test
    void webhookSecretsFollowStandardWebhooksAndRedactThemselves() {
        WebhookSecret secret = WebhookSecret.generate();
        assertThat(secret.value()).matches("whsec_[A-Za-z0-9+/]{43}=");
        assertThat(secret.key()).hasSize(WebhookSecret.BYTES);
        assertThat(secret.toString()).doesNotContain(secret.value().substring(6));
        assertThat(WebhookSecret.generate()).isNotEqualTo(secret);
        assertThatThrownBy(() -> new WebhookSecret("whsec_" + Base64.getEncoder().encodeToString(new byte[16]), null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WebhookSecret("sk_" + Base64.getEncoder().encodeToString(new byte[32]), null))
                .isInstanceOf(IllegalArgumentException.class);
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertThat(secret.validAt(now)).isTrue();
        assertThat(secret.expiringAt(now).validAt(now)).isFalse();
        assertThat(secret.expiringAt(now.plusSeconds(1)).validAt(now)).isTrue();
    }
}
