package dev.kiln.tenant;

import java.time.Instant;

/**
 * One key of a tenant, as listed: never the key, only its id.
 *
 * @param id        {@code key_} and the first 12 hex digits of the key's SHA-256
 * @param tenant    the tenant it belongs to
 * @param source    {@code config} (from {@code KILN_API_KEYS}) or {@code admin} (created by the admin API)
 * @param label     what the admin called it, if anything
 * @param createdAt when the admin API created it; null for configured keys
 */
public record TenantKey(String id, String tenant, String source, String label, Instant createdAt) {

    /** A key from {@code KILN_API_KEYS}. */
    public static final String CONFIG = "config";
    /** A key created by the admin API. */
    public static final String ADMIN = "admin";
}
