package dev.kiln.job;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256, which Kiln uses for ids, render keys, key hashes, output and reference digests and
 * request fingerprints: one place for the checked exception that no JVM throws (every Java
 * platform must provide SHA-256).
 */
public final class Sha256 {

    private Sha256() {
    }

    /** A fresh digest to feed. */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** The SHA-256 of {@code bytes}. */
    public static byte[] of(byte[] bytes) {
        return digest().digest(bytes);
    }

    /** The SHA-256 of {@code text}'s UTF-8, in lower-case hex. */
    public static String hexOf(String text) {
        return HexFormat.of().formatHex(of(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** The SHA-256 of everything left in {@code in}, in lower-case hex; reads it to the end, leaves it open. */
    public static String hexOf(InputStream in) throws IOException {
        DigestInputStream digesting = new DigestInputStream(in, digest());
        digesting.transferTo(OutputStream.nullOutputStream());
        return HexFormat.of().formatHex(digesting.getMessageDigest().digest());
    }
}
