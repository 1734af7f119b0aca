package dev.kiln.storage;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link ObjectKeys#isOwnedBy} lets a tenant presign: its own keys only, none that climbs or hides. */
class ObjectKeysOwnershipTest {

    @Test
    void onlyATenantsOwnPlainKeysAreItsOwn() {
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/b_1/SKU-1/0.png")).isTrue();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/b_1/Ünïcode sku/0.png")).isTrue();
        assertThat(ObjectKeys.isOwnedBy("acme", "other/b_1/SKU-1/0.png")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/../other/b_1/0.png")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/./b_1/0.png")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme//b_1/0.png")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/b_1/..")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/b_1/SKU\n1/0.png")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", "acme/b_1/SKU\u00851/0.png")).isFalse();
        assertThat(ObjectKeys.isOwnedBy(null, "acme/b_1/0.png")).isFalse();
        assertThat(ObjectKeys.isOwnedBy("acme", null)).isFalse();
    }
}
