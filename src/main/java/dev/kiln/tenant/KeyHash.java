package dev.kiln.tenant;

import dev.kiln.job.Sha256;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The SHA-256 hash of an API key: all Kiln keeps of a key. Keys are long random strings, so a
 * plain hash suffices (no password stretching); compared only with {@link #matches}, in constant
 * time. Its {@link #toString} shows the id alone, so not even the hash reaches a log line.
 */
public final class KeyHash {

    private static final HexFormat HEX = HexFormat.of();
    private static final int BYTES = 32;

    private final byte[] hash;

    private KeyHash(byte[] hash) {
        this.hash = hash;
    }

    /** The hash of {@code key}. */
    public static KeyHash of(String key) {
        return new KeyHash(sha256(key.getBytes(StandardCharsets.UTF_8)));
    }

    /** A hash given as 64 hex digits, as in {@code tenant=sha256:<hex>}. */
    public static KeyHash fromHex(String hex) {
        if (hex == null || hex.length() != BYTES * 2) {
            throw new IllegalArgumentException("a SHA-256 hash has 64 hex digits");
        }
        try {
            return new KeyHash(HEX.parseHex(hex));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a SHA-256 hash has 64 hex digits", e);
        }
    }

    /**
     * Whether both hashes are equal, in time independent of where they differ
     * ({@link MessageDigest#isEqual}), so that timing tells a caller nothing about a key.
     */
    public boolean matches(KeyHash other) {
        return MessageDigest.isEqual(hash, other.hash);
    }

    /** The 64 hex digits, for the {@code kiln.tenants} record only. */
    public String hex() {
        return HEX.formatHex(hash);
    }

    /** A public name of the key: {@code key_} and the hash's first 12 hex digits. */
    public String id() {
        return "key_" + hex().substring(0, 12);
    }

    static byte[] sha256(byte[] bytes) {
        return Sha256.of(bytes);
    }

    /** Equality of ids for collections; authentication never uses it, only {@link #matches}. */
    @Override
    public boolean equals(Object other) {
        return other instanceof KeyHash that && matches(that);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hash);
    }

    @Override
    public String toString() {
        return "KeyHash[" + id() + "]";
    }
}
