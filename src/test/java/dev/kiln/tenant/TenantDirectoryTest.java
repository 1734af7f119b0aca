package dev.kiln.tenant;

import dev.kiln.messaging.KilnJson;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class TenantDirectoryTest {

    static final String KEY_A = "acme-key-0123456789abcdef";
    static final String KEY_B = "globex-key-0123456789abcdef";
    static final String ADMIN = "admin-key-0123456789abcdef";
    static final TenantQuotas DEFAULTS = new TenantQuotas(1000, 5000, 1.0, null);

    static TenantDirectory directory(AuthMode mode, String apiKeys, String adminKey) {
        return new TenantDirectory(mode, ApiKeys.parse(Optional.ofNullable(apiKeys)), Optional.ofNullable(adminKey),
                DEFAULTS, 1, SecretBox.of(Optional.empty(), Optional.ofNullable(adminKey)), "default");
    }

    @Test
    void aConfiguredKeyNamesItsTenantAndNothingElseDoes() {
        TenantDirectory directory = directory(AuthMode.REQUIRED,
                "acme=" + KEY_A + ",globex=sha256:" + KeyHash.of(KEY_B).hex(), ADMIN);
        assertThat(directory.isOpen()).isFalse();
        assertThat(directory.authenticate(KEY_A)).contains(new Caller("acme", KeyHash.of(KEY_A).id()));
        assertThat(directory.authenticate(KEY_B)).contains(new Caller("globex", KeyHash.of(KEY_B).id()));
        assertThat(directory.authenticate("nope")).isEmpty();
        assertThat(directory.authenticate(ADMIN)).isEmpty();
        assertThat(directory.isAdminKey(ADMIN)).isTrue();
        assertThat(directory.isAdminKey(KEY_A)).isFalse();
        assertThat(directory.tenantIds()).containsExactly("acme", "globex");
        assertThat(directory.keys("acme")).extracting(TenantKey::source).containsExactly(TenantKey.CONFIG);
        assertThat(directory.toString()).doesNotContain(KEY_A).doesNotContain(KeyHash.of(KEY_A).hex());
    }

    @Test
    void noKeyAnywhereIsOpenAsTheDefaultTenantAndOffIsAlwaysOpen() {
        assertThat(directory(AuthMode.REQUIRED, null, null).isOpen()).isTrue();
        assertThat(directory(AuthMode.REQUIRED, null, null).adminEnabled()).isFalse();
        assertThat(directory(AuthMode.REQUIRED, null, ADMIN).isOpen()).isFalse();
        assertThat(directory(AuthMode.REQUIRED, "acme=" + KEY_A, null).isOpen()).isFalse();
        assertThat(directory(AuthMode.OFF, "acme=" + KEY_A, ADMIN).isOpen()).isTrue();
        // A key created through the admin API closes an api that had none configured.
        TenantDirectory directory = directory(AuthMode.REQUIRED, null, null);
        directory.apply(Map.of("acme", record("acme", List.of(stored(KEY_A)), List.of())));
        assertThat(directory.isOpen()).isFalse();
        assertThat(directory.authenticate(KEY_A)).map(Caller::tenant).contains("acme");
    }

    @Test
    void theTopicAddsRevokesAndForgets() {
        TenantDirectory directory = directory(AuthMode.REQUIRED, "acme=" + KEY_A, ADMIN);
        String created = "kiln_created-key-0123456789abcdef";
        directory.apply(Map.of("acme", record("acme", List.of(stored(created)), List.of(KeyHash.of(KEY_A).hex()))));
        assertThat(directory.authenticate(KEY_A)).isEmpty();
        assertThat(directory.authenticate(created)).map(Caller::tenant).contains("acme");
        assertThat(directory.keys("acme")).extracting(TenantKey::source).containsExactly(TenantKey.ADMIN);
        Map<String, TenantRecord> tombstone = new HashMap<>();
        tombstone.put("acme", null);
        directory.apply(tombstone);
        assertThat(directory.authenticate(KEY_A)).isPresent();
        assertThat(directory.authenticate(created)).isEmpty();
    }

    @Test
    void quotasAndWeightLayOverTheDefaults() {
        TenantDirectory directory = directory(AuthMode.REQUIRED, "acme=" + KEY_A, ADMIN);
        assertThat(directory.tenant("acme").quotas()).isEqualTo(DEFAULTS);
        assertThat(directory.tenant("unknown").quotas()).isEqualTo(DEFAULTS);
        directory.apply(Map.of("acme", new TenantRecord("acme", 5,
                new TenantRecord.QuotaOverrides(10, null, 0.25, new BigDecimal("99.50")), List.of(), List.of(), List.of(), null)));
        Tenant acme = directory.tenant("acme");
        assertThat(acme.weight()).isEqualTo(5);
        assertThat(acme.quotas()).isEqualTo(new TenantQuotas(10, 5000, 0.25, new BigDecimal("99.50")));
    }

    @Test
    void webhookSecretsAreDerivedUntilRotatedThenOpenedFromTheirSealedForm() {
        TenantDirectory directory = directory(AuthMode.REQUIRED, "acme=" + KEY_A, ADMIN);
        WebhookSecret derived = directory.tenant("acme").webhookSecret();
        assertThat(directory(AuthMode.REQUIRED, "acme=" + KEY_A, ADMIN).tenant("acme").webhookSecret()).isEqualTo(derived);
        WebhookSecret rotated = WebhookSecret.generate();
        Instant expiry = Instant.now().plusSeconds(3600);
        directory.apply(Map.of("acme", new TenantRecord("acme", null, null, List.of(), List.of(), List.of(
                new TenantRecord.SealedSecret(directory.secrets().seal("acme", rotated.value()), null),
                new TenantRecord.SealedSecret(directory.secrets().seal("acme", derived.value()), expiry)), null)));
        Tenant acme = directory.tenant("acme");
        assertThat(acme.webhookSecret()).isEqualTo(rotated);
        assertThat(acme.signingSecrets(Instant.now())).containsExactly(rotated, derived.expiringAt(expiry));
        assertThat(acme.signingSecrets(expiry)).containsExactly(rotated);
        assertThat(acme.toString()).doesNotContain(rotated.value()).doesNotContain(derived.value());
    }

    @Test
    void theTopicRecordHoldsHashesAndSealedSecretsOnly() throws Exception {
        TenantDirectory directory = directory(AuthMode.REQUIRED, "acme=" + KEY_A, ADMIN);
        String created = "kiln_created-key-0123456789abcdef";
        WebhookSecret secret = WebhookSecret.generate();
        TenantRecord record = new TenantRecord("acme", 2, null, List.of(stored(created)), List.of(), List.of(
                new TenantRecord.SealedSecret(directory.secrets().seal("acme", secret.value()), null)), Instant.now());
        String json = KilnJson.MAPPER.writeValueAsString(record);
        assertThat(json).contains("\"revoked_keys\"", "\"webhook_secrets\"", "\"sha256\"", KeyHash.of(created).hex())
                .doesNotContain(created).doesNotContain(secret.value()).doesNotContain(secret.value().substring(6));
        assertThat(KilnJson.MAPPER.readValue(json, TenantRecord.class)).isEqualTo(record);
    }

    static TenantRecord record(String tenant, List<TenantRecord.StoredKey> keys, List<String> revoked) {
        return new TenantRecord(tenant, null, null, keys, revoked, List.of(), null);
    }

    static TenantRecord.StoredKey stored(String key) {
        KeyHash hash = KeyHash.of(key);
        return new TenantRecord.StoredKey(hash.id(), hash.hex(), "test", Instant.parse("2026-01-01T00:00:00Z"));
    }
}
