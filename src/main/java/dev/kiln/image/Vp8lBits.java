package dev.kiln.image;

import java.util.Arrays;

/**
 * The bit stream of a lossless WebP (VP8L) image, least significant bit first as VP8L reads it,
 * and the RIFF container around it. Shared by Kiln's lossless encoder and the simulator's
 * compact one, which differ only in how they choose the codes they write.
 */
public final class Vp8lBits {

    private byte[] buffer;
    private int length;
    private long pending;
    private int pendingBits;

    /** A writer whose buffer starts at {@code expectedBytes} and grows as needed. */
    public Vp8lBits(int expectedBytes) {
        buffer = new byte[Math.max(64, expectedBytes)];
    }

    /** Appends the low {@code count} bits of {@code value}; a count of 0 writes nothing. */
    public void write(int value, int count) {
        if (count == 0) {
            return;
        }
        pending |= (value & ((1L << count) - 1)) << pendingBits;
        pendingBits += count;
        if (pendingBits >= 32) {
            ensure(4);
            buffer[length++] = (byte) pending;
            buffer[length++] = (byte) (pending >>> 8);
            buffer[length++] = (byte) (pending >>> 16);
            buffer[length++] = (byte) (pending >>> 24);
            pending >>>= 32;
            pendingBits -= 32;
        }
    }

    /** The bytes written, the last one padded with zero bits. */
    public byte[] finish() {
        while (pendingBits > 0) {
            ensure(1);
            buffer[length++] = (byte) pending;
            pending >>>= 8;
            pendingBits -= 8;
        }
        return Arrays.copyOf(buffer, length);
    }

    private void ensure(int more) {
        if (length + more > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + more));
        }
    }

    /** A WebP file: the RIFF header, the {@code VP8L} chunk of {@code vp8l} and its padding. */
    public static byte[] riff(byte[] vp8l) {
        int padding = vp8l.length & 1;
        int fileSize = 4 + 8 + vp8l.length + padding;
        byte[] out = new byte[8 + fileSize];
        putAscii(out, 0, "RIFF");
        putIntLittleEndian(out, 4, fileSize);
        putAscii(out, 8, "WEBP");
        putAscii(out, 12, "VP8L");
        putIntLittleEndian(out, 16, vp8l.length);
        System.arraycopy(vp8l, 0, out, 20, vp8l.length);
        return out;
    }

    private static void putAscii(byte[] out, int offset, String text) {
        for (int i = 0; i < text.length(); i++) {
            out[offset + i] = (byte) text.charAt(i);
        }
    }

    private static void putIntLittleEndian(byte[] out, int offset, int value) {
        for (int i = 0; i < 4; i++) {
            out[offset + i] = (byte) (value >>> (8 * i));
        }
    }
}
