package dev.kiln.tenant;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyHashTest {

    @Test
    void hashesWithSha256() {
        // echo -n abc | sha256sum
        assertThat(KeyHash.of("abc").hex()).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(KeyHash.of("abc").id()).isEqualTo("key_ba7816bf8f01");
        assertThat(KeyHash.fromHex(KeyHash.of("abc").hex()).matches(KeyHash.of("abc"))).isTrue();
        assertThat(KeyHash.fromHex(KeyHash.of("abc").hex().toUpperCase()).matches(KeyHash.of("abc"))).isTrue();
    }

    @Test
    void matchesOnlyTheSameKeyWhereverTheyDiffer() {
        String key = "kiln_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
        assertThat(KeyHash.of(key).matches(KeyHash.of(key))).isTrue();
        assertThat(KeyHash.of(key).matches(KeyHash.of("X" + key.substring(1)))).isFalse();
        assertThat(KeyHash.of(key).matches(KeyHash.of(key.substring(0, key.length() - 1) + "X"))).isFalse();
        assertThat(KeyHash.of(key).matches(KeyHash.of(key + " "))).isFalse();
        assertThat(KeyHash.of(key).matches(KeyHash.of(""))).isFalse();
    }

    @Test
    void comparesInConstantTimeThroughMessageDigestIsEqual() throws Exception {
        // Timing cannot be asserted reliably on a shared machine; the source can: matches() is the
        // one comparison of hashes, and it is MessageDigest.isEqual, which does not stop early.
        String source = Files.readString(Path.of("src/main/java/dev/kiln/tenant/KeyHash.java"));
        assertThat(source).contains("return MessageDigest.isEqual(hash, other.hash);");
        assertThat(source).doesNotContain("Arrays.equals(");
        String directory = Files.readString(Path.of("src/main/java/dev/kiln/tenant/TenantDirectory.java"));
        assertThat(directory).contains("entry.hash.matches(presented) & match == null");
    }

    @Test
    void toStringShowsTheIdOnly() {
        KeyHash hash = KeyHash.of("kiln_some-secret-key-value");
        assertThat(hash.toString()).isEqualTo("KeyHash[" + hash.id() + "]").doesNotContain(hash.hex());
    }

    @Test
    void refusesWhatIsNotAHash() {
        assertThatThrownBy(() -> KeyHash.fromHex("abc")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KeyHash.fromHex(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KeyHash.fromHex("g".repeat(64))).isInstanceOf(IllegalArgumentException.class);
    }
}
