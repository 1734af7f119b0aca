package dev.kiln.tenant;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/**
 * Keeps webhook secrets unreadable in {@code kiln.tenants}: AES-256-GCM, with the tenant id as
 * associated data so that a sealed secret cannot be moved to another tenant's record. Both keys
 * are derived from one root ({@code KILN_SECRETS_KEY}, else the admin key): the sealing key, and
 * the key that derives each tenant's first webhook secret, so that every replica agrees on it
 * without writing anything. Without either root (the local run), a fixed root is used and the
 * secrets are not secret; {@link #isLocalFallback()} says so.
 */
public final class SecretBox {

    /** Shortest {@code KILN_SECRETS_KEY}. */
    public static final int MIN_ROOT_LENGTH = 32;

    private static final String VERSION = "v1.";
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final byte[] LOCAL_ROOT = "kiln-local-run-secrets-root-not-secret".getBytes(StandardCharsets.UTF_8);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SecretKeySpec sealKey;
    private final byte[] deriveKey;
    private final boolean localFallback;

    private SecretBox(byte[] root, boolean localFallback) {
        this.sealKey = new SecretKeySpec(hmac(root, "kiln/tenants/seal/v1"), "AES");
        this.deriveKey = hmac(root, "kiln/tenants/webhook-secret/v1");
        this.localFallback = localFallback;
    }

    /** The box of {@code secretsKey}, else of {@code adminKey}, else the local run's. */
    public static SecretBox of(Optional<String> secretsKey, Optional<String> adminKey) {
        if (secretsKey.isPresent() && !secretsKey.get().isBlank()) {
            if (secretsKey.get().length() < MIN_ROOT_LENGTH) {
                throw new IllegalArgumentException("KILN_SECRETS_KEY must have at least " + MIN_ROOT_LENGTH + " characters");
            }
            return new SecretBox(secretsKey.get().getBytes(StandardCharsets.UTF_8), false);
        }
        if (adminKey.isPresent() && !adminKey.get().isBlank()) {
            return new SecretBox(hmac(adminKey.get().getBytes(StandardCharsets.UTF_8), "kiln/secrets-root/v1"), false);
        }
        return new SecretBox(LOCAL_ROOT, true);
    }

    /** Whether the root is the fixed one of the local run. */
    public boolean isLocalFallback() {
        return localFallback;
    }

    /** {@code secret} sealed for {@code tenant}: {@code v1.} and base64url of nonce and ciphertext. */
    String seal(String tenant, String secret) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, sealKey, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(tenant.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(secret.getBytes(StandardCharsets.UTF_8));
            return VERSION + Base64.getUrlEncoder().withoutPadding().encodeToString(
                    ByteBuffer.allocate(nonce.length + sealed.length).put(nonce).put(sealed).array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    /** The secret sealed for {@code tenant}; fails if it was sealed with another root or for another tenant. */
    String open(String tenant, String sealed) {
        if (sealed == null || !sealed.startsWith(VERSION)) {
            throw new IllegalArgumentException("not a sealed secret");
        }
        byte[] bytes = Base64.getUrlDecoder().decode(sealed.substring(VERSION.length()));
        if (bytes.length <= NONCE_BYTES) {
            throw new IllegalArgumentException("not a sealed secret");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, sealKey, new GCMParameterSpec(TAG_BITS, bytes, 0, NONCE_BYTES));
            cipher.updateAAD(tenant.getBytes(StandardCharsets.UTF_8));
            return new String(cipher.doFinal(bytes, NONCE_BYTES, bytes.length - NONCE_BYTES), StandardCharsets.UTF_8);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the sealed secret does not open with this root (KILN_SECRETS_KEY changed?)");
        }
    }

    /** The tenant's first webhook secret, the same on every replica, until a rotation replaces it. */
    WebhookSecret derivedWebhookSecret(String tenant) {
        return WebhookSecret.fromKey(hmac(deriveKey, tenant), null);
    }

    private static byte[] hmac(byte[] key, String message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is part of every JDK", e);
        }
    }

    @Override
    public String toString() {
        return "SecretBox[***]";
    }
}
