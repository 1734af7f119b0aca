package dev.kiln.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds secrets where they must never be: log lines, status events, topic records, error bodies.
 * Register every secret a test configures or receives (API keys, the admin key, the S3 secret,
 * the provider key, webhook secrets) under a name; {@link #findIn} answers the names of those
 * found, never the secrets, so a failing assertion does not print them either.
 *
 * <p>Each secret is also looked for in its base64 and URL-encoded forms, and a webhook secret
 * ({@code whsec_…}) by its key alone, as a leak may re-encode it.
 */
public final class SecretScanner {

    /** Secrets shorter than this would match by chance; refused at registration. */
    private static final int MIN_LENGTH = 8;

    private final Map<String, List<String>> forms = new LinkedHashMap<>();

    /** Adds {@code secret} under {@code name}; returns this scanner. */
    public SecretScanner add(String name, String secret) {
        if (secret == null || secret.length() < MIN_LENGTH) {
            throw new IllegalArgumentException(name + " is too short to scan for");
        }
        List<String> variants = new ArrayList<>();
        variants.add(secret);
        variants.add(Base64.getEncoder().encodeToString(secret.getBytes(StandardCharsets.UTF_8)));
        variants.add(java.net.URLEncoder.encode(secret, StandardCharsets.UTF_8));
        if (secret.startsWith("whsec_")) {
            variants.add(secret.substring("whsec_".length()));
        }
        forms.merge(name, variants, (a, b) -> {
            List<String> all = new ArrayList<>(a);
            all.addAll(b);
            return all;
        });
        return this;
    }

    /** The names of the secrets that occur in {@code text}. */
    public List<String> findIn(String text) {
        if (text == null || text.isEmpty()) {
            return List.of();
        }
        List<String> found = new ArrayList<>();
        forms.forEach((name, variants) -> {
            if (variants.stream().anyMatch(text::contains)) {
                found.add(name);
            }
        });
        return found;
    }

    /** The names of the secrets that occur in any of {@code texts}. */
    public List<String> findInAll(Iterable<String> texts) {
        List<String> found = new ArrayList<>();
        for (String text : texts) {
            for (String name : findIn(text)) {
                if (!found.contains(name)) {
                    found.add(name);
                }
            }
        }
        return found;
    }

    /** The names of the secrets that occur in {@code bytes} read as UTF-8 (a Kafka value, an object). */
    public List<String> findIn(byte[] bytes) {
        return bytes == null ? List.of() : findIn(new String(bytes, StandardCharsets.UTF_8));
    }

    /** How many secrets are registered. */
    public int size() {
        return forms.size();
    }

    @Override
    public String toString() {
        return "SecretScanner" + forms.keySet();
    }
}
