package dev.kiln.worker;

import dev.kiln.image.ImageFormat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;

/**
 * Cheap checks that a decoded image is whole: its format's end marker is where it should be.
 * A truncated answer can still carry a valid header, so the header alone proves nothing; a full
 * decode of a 4K image would cost more than the check is worth.
 */
final class ImageIntegrity {

    private static final byte[] PNG_IEND = {0, 0, 0, 0, 'I', 'E', 'N', 'D', (byte) 0xAE, 0x42, 0x60, (byte) 0x82};

    private ImageIntegrity() {
    }

    /** Whether the file ends the way a complete image of {@code format} ends. */
    static boolean isComplete(Path file, ImageFormat format) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            return switch (format) {
                case PNG -> length >= PNG_IEND.length && endsWith(raf, PNG_IEND);
                case JPEG -> length >= 4 && endsWith(raf, new byte[] {(byte) 0xFF, (byte) 0xD9});
                case WEBP -> {
                    byte[] head = new byte[8];
                    raf.readFully(head);
                    long riffSize = (head[4] & 0xffL) | (head[5] & 0xffL) << 8 | (head[6] & 0xffL) << 16 | (head[7] & 0xffL) << 24;
                    yield riffSize + 8 == length || riffSize + 9 == length;
                }
            };
        }
    }

    private static boolean endsWith(RandomAccessFile raf, byte[] tail) throws IOException {
        byte[] actual = new byte[tail.length];
        raf.seek(raf.length() - tail.length);
        raf.readFully(actual);
        return java.util.Arrays.equals(actual, tail);
    }
}
