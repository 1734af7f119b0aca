package dev.kiln.tenant;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ApiKeysTest {

    private static final String KEY_A = "acme-key-0123456789abcdef";
    private static final String KEY_B = "globex-key-0123456789abcdef";

    @Test
    void parsesPlainKeysAndHashesAndKeepsOnlyHashes() {
        String hashB = KeyHash.of(KEY_B).hex();
        ApiKeys keys = ApiKeys.parse(Optional.of(" acme=" + KEY_A + " , globex=sha256:" + hashB + ",,"));
        assertThat(keys.keys()).extracting(ApiKeys.ConfiguredKey::tenant).containsExactly("acme", "globex");
        assertThat(keys.keys().get(0).hash().matches(KeyHash.of(KEY_A))).isTrue();
        assertThat(keys.keys().get(1).hash().matches(KeyHash.of(KEY_B))).isTrue();
        assertThat(keys.keys().get(1).hash().matches(KeyHash.of(KEY_A))).isFalse();
    }

    @Test
    void emptyOrBlankMeansNoKey() {
        assertThat(ApiKeys.parse(Optional.empty()).isEmpty()).isTrue();
        assertThat(ApiKeys.parse(Optional.of("  ")).isEmpty()).isTrue();
    }

    @Test
    void aBadEntryIsNamedByPositionAndTenantNeverByItsKey() {
        String secret = "short-secret";
        assertThatThrownBy(() -> ApiKeys.parse(Optional.of("acme=" + KEY_A + ",globex=" + secret)))
                .hasMessageContaining("entry 2").hasMessageContaining("globex").hasMessageContaining("at least 16")
                .hasMessageNotContaining(secret);
        assertThatThrownBy(() -> ApiKeys.parse(Optional.of(KEY_A)))
                .hasMessageContaining("entry 1").hasMessageNotContaining(KEY_A);
        assertThatThrownBy(() -> ApiKeys.parse(Optional.of("Acme/x=" + KEY_A)))
                .hasMessageContaining("tenant id").hasMessageNotContaining(KEY_A);
        assertThatThrownBy(() -> ApiKeys.parse(Optional.of("acme=sha256:abc")))
                .hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> ApiKeys.parse(Optional.of("acme=sha256:" + "zz".repeat(32))))
                .hasMessageContaining("64 hex digits");
    }

    @Test
    void oneKeyBelongsToOneTenant() {
        assertThatThrownBy(() -> ApiKeys.parse(Optional.of("acme=" + KEY_A + ",globex=sha256:" + KeyHash.of(KEY_A).hex())))
                .hasMessageContaining("entry 2").hasMessageContaining("twice").hasMessageNotContaining(KEY_A);
    }

    @Test
    void toStringNamesTenantsAndKeyIdsOnly() {
        ApiKeys keys = ApiKeys.parse(Optional.of("acme=" + KEY_A));
        assertThat(keys.toString()).contains("acme", KeyHash.of(KEY_A).id())
                .doesNotContain(KEY_A).doesNotContain(KeyHash.of(KEY_A).hex());
        assertThat(keys.keys().getFirst().toString()).doesNotContain(KeyHash.of(KEY_A).hex());
    }

    @Test
    void generatedKeysAreLongRandomAndUrlSafe() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            String key = ApiKeys.generate();
            assertThat(key).matches("kiln_[A-Za-z0-9_-]{43}");
            assertThat(seen.add(key)).isTrue();
            // A generated key is itself a valid configured key.
            assertThat(ApiKeys.parse(Optional.of("t=" + key)).keys()).hasSize(1);
        }
    }
}
