package dev.kiln.tenant;

import java.time.Instant;

/**
 * A key just created: the only time Kiln has the key itself. {@link #toString} redacts it.
 *
 * @param id        the key's public id
 * @param tenant    the tenant it belongs to
 * @param key       the key, to hand to the tenant once
 * @param label     what the admin called it
 * @param createdAt when it was created
 */
public record CreatedKey(String id, String tenant, String key, String label, Instant createdAt) {

    @Override
    public String toString() {
        return "CreatedKey[id=" + id + ", tenant=" + tenant + ", key=***]";
    }
}
