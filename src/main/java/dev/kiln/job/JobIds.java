package dev.kiln.job;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Batch and job ids. A job id is its batch id and its item's position, so every view of a job
 * can find its batch (and its Kafka partition on {@code kiln.status}) from the id alone. A batch
 * submitted under an idempotency key gets an id derived from tenant and key, so a replay names
 * the very same batch and jobs even when it reaches another api replica.
 */
public final class JobIds {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
    private static final int INDEX_DIGITS = 6;
    /** What every upload id starts with. */
    public static final String UPLOAD_PREFIX = "upl_";
    private static final Pattern UPLOAD_ID = Pattern.compile("upl_[" + ALPHABET + "]{26}");

    private JobIds() {
    }

    /** A fresh batch id: {@code b_} and 26 characters, time-ordered so lists sort by age. */
    public static String newBatchId() {
        return newTimeOrderedId("b_");
    }

    /**
     * A fresh upload id: {@code upl_} and 26 characters, time-ordered. It carries no slash, so a
     * reference can tell it from an object key at a glance.
     */
    public static String newUploadId() {
        return newTimeOrderedId(UPLOAD_PREFIX);
    }

    /** True when {@code text} has the shape of an upload id ({@link #newUploadId()}). */
    public static boolean isUploadId(String text) {
        return text != null && UPLOAD_ID.matcher(text).matches();
    }

    private static String newTimeOrderedId(String prefix) {
        byte[] random = new byte[10];
        RANDOM.nextBytes(random);
        long millis = System.currentTimeMillis();
        StringBuilder id = new StringBuilder(prefix);
        for (int shift = 45; shift >= 0; shift -= 5) {
            id.append(ALPHABET.charAt((int) (millis >>> shift) & 31));
        }
        appendBase32(id, random, 16);
        return id.toString();
    }

    /** The batch id for an idempotency key of a tenant: the same key always names the same batch. */
    public static String batchIdFor(String tenant, String idempotencyKey) {
        byte[] digest = sha256((tenant + "\n" + idempotencyKey).getBytes(StandardCharsets.UTF_8));
        StringBuilder id = new StringBuilder("b_");
        appendBase32(id, digest, 26);
        return id.toString();
    }

    /** The job id of the item at {@code index} of a batch. */
    public static String jobId(String batchId, int index) {
        // Padded by hand: intake makes one id per item, and String.format was a visible share of it.
        String digits = Integer.toString(index);
        int padding = Math.max(0, INDEX_DIGITS - digits.length());
        return batchId + "-" + "0".repeat(index < 0 ? 0 : padding) + digits;
    }

    /** The batch id inside a job id, if it is one. */
    public static Optional<String> batchIdOf(String jobId) {
        int dash = jobId == null ? -1 : jobId.lastIndexOf('-');
        if (dash <= 2 || !jobId.startsWith("b_")) {
            return Optional.empty();
        }
        return Optional.of(jobId.substring(0, dash));
    }

    /** Hex SHA-256 of {@code bytes}. */
    public static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256(bytes));
    }

    private static byte[] sha256(byte[] bytes) {
        return Sha256.of(bytes);
    }

    private static void appendBase32(StringBuilder out, byte[] bytes, int characters) {
        long buffer = 0;
        int bits = 0;
        int written = 0;
        for (byte b : bytes) {
            buffer = (buffer << 8) | (b & 0xff);
            bits += 8;
            while (bits >= 5 && written < characters) {
                out.append(ALPHABET.charAt((int) (buffer >>> (bits - 5)) & 31));
                bits -= 5;
                written++;
            }
        }
    }
}
