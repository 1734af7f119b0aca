package dev.kiln.tenant;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;

/**
 * A Standard Webhooks signing secret: {@code whsec_} and the base64 of 32 random bytes (the spec
 * asks for 24 to 64). Shown only by {@code GET /v1/tenant}; {@link #toString} redacts it.
 *
 * @param value     the secret, {@code whsec_…}
 * @param expiresAt when a rotated-out secret stops signing; null for the current one
 */
public record WebhookSecret(String value, Instant expiresAt) {

    /** The prefix the Standard Webhooks libraries expect. */
    public static final String PREFIX = "whsec_";

    /** Random bytes of a new secret. */
    public static final int BYTES = 32;

    private static final SecureRandom RANDOM = new SecureRandom();

    public WebhookSecret {
        if (value == null || !value.startsWith(PREFIX) || key(value).length < 24) {
            throw new IllegalArgumentException("a webhook secret is whsec_ and the base64 of at least 24 bytes");
        }
    }

    /** A new random, current secret. */
    public static WebhookSecret generate() {
        byte[] bytes = new byte[BYTES];
        RANDOM.nextBytes(bytes);
        return fromKey(bytes, null);
    }

    /** The secret whose HMAC key is {@code key}. */
    static WebhookSecret fromKey(byte[] key, Instant expiresAt) {
        return new WebhookSecret(PREFIX + Base64.getEncoder().encodeToString(key), expiresAt);
    }

    /** The HMAC-SHA256 key: the bytes after {@code whsec_}. */
    public byte[] key() {
        return key(value);
    }

    /** Whether it still signs at {@code now}. */
    public boolean validAt(Instant now) {
        return expiresAt == null || now.isBefore(expiresAt);
    }

    /** This secret, ending at {@code when}. */
    WebhookSecret expiringAt(Instant when) {
        return new WebhookSecret(value, when);
    }

    private static byte[] key(String value) {
        try {
            return Base64.getDecoder().decode(value.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            return new byte[0];
        }
    }

    @Override
    public String toString() {
        return "WebhookSecret[whsec_***" + (expiresAt == null ? "" : ", expires " + expiresAt) + "]";
    }
}
