package dev.kiln.tenant;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The keys of {@code KILN_API_KEYS}, hashed as soon as they are read. A parse error names the
 * entry's position and tenant, never the key. {@link #toString} names tenants and key ids only.
 */
public final class ApiKeys {

    /** Tenant ids become the first segment of object keys: lower-case letters, digits, - and _. */
    public static final Pattern TENANT_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

    /** Shortest key accepted in {@code KILN_API_KEYS}: shorter keys could be guessed. */
    public static final int MIN_KEY_LENGTH = 16;

    private static final String HASH_PREFIX = "sha256:";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final List<ConfiguredKey> keys;

    private ApiKeys(List<ConfiguredKey> keys) {
        this.keys = List.copyOf(keys);
    }

    /**
     * A key given in configuration.
     *
     * @param tenant the tenant it belongs to
     * @param hash   its hash
     */
    public record ConfiguredKey(String tenant, KeyHash hash) {
    }

    /** No configured key. */
    public static ApiKeys none() {
        return new ApiKeys(List.of());
    }

    /** Parses {@code KILN_API_KEYS}: {@code tenant=key} or {@code tenant=sha256:<hex>}, comma-separated. */
    public static ApiKeys parse(Optional<String> value) {
        if (value.isEmpty() || value.get().isBlank()) {
            return none();
        }
        List<ConfiguredKey> keys = new ArrayList<>();
        Set<KeyHash> seen = new HashSet<>();
        String[] entries = value.get().split(",");
        for (int i = 0; i < entries.length; i++) {
            String entry = entries[i].trim();
            if (entry.isEmpty()) {
                continue;
            }
            String where = "KILN_API_KEYS entry " + (i + 1);
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(where + " is not tenant=key (the entry is not shown: it may hold a key)");
            }
            String tenant = entry.substring(0, eq).trim();
            if (!TENANT_ID.matcher(tenant).matches()) {
                throw new IllegalArgumentException(where + ": a tenant id has 1 to 63 lower-case letters, digits, - or _"
                        + " and starts with a letter or digit");
            }
            where += " (tenant '" + tenant + "')";
            String key = entry.substring(eq + 1).trim();
            KeyHash hash;
            if (key.startsWith(HASH_PREFIX)) {
                try {
                    hash = KeyHash.fromHex(key.substring(HASH_PREFIX.length()));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ": sha256: must be followed by 64 hex digits");
                }
            } else if (key.length() < MIN_KEY_LENGTH) {
                throw new IllegalArgumentException(where + ": a key has at least " + MIN_KEY_LENGTH + " characters");
            } else {
                hash = KeyHash.of(key);
            }
            if (!seen.add(hash)) {
                throw new IllegalArgumentException(where + ": the same key is given twice; a key belongs to one tenant");
            }
            keys.add(new ConfiguredKey(tenant, hash));
        }
        return new ApiKeys(keys);
    }

    /** A new random key: {@code kiln_} and 32 random bytes, base64url. Shown once, then only hashed. */
    public static String generate() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return "kiln_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Every configured key. */
    public List<ConfiguredKey> keys() {
        return keys;
    }

    /** Whether no key is configured. */
    public boolean isEmpty() {
        return keys.isEmpty();
    }

    @Override
    public String toString() {
        return "ApiKeys" + keys.stream().map(k -> k.tenant() + "=" + k.hash().id()).toList();
    }
}
