package dev.kiln.image;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads an image's format, width and height from its first bytes (PNG IHDR, JPEG SOFn marker,
 * WebP VP8/VP8L/VP8X header) without decoding it, so the worker can check a provider answer and
 * the intake a reference upload cheaply. A header only: a probe does not prove the rest of the
 * image is intact.
 */
public final class ImageProbe {

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private ImageProbe() {
    }

    /** Probes the image in {@code bytes}. */
    public static Optional<ImageInfo> probe(byte[] bytes) {
        try {
            return probe(new ByteArrayInputStream(bytes));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Probes the image file at {@code path}. */
    public static Optional<ImageInfo> probe(Path path) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(path))) {
            return probe(in);
        }
    }

    /**
     * Probes the image at the start of {@code in}, reading only as far as its header (for JPEG that
     * may skip over metadata segments). The stream is left part-read and is not closed.
     *
     * @return empty when the bytes are no PNG, JPEG or WebP, or end before the size
     * @throws IOException only when reading the stream fails
     */
    public static Optional<ImageInfo> probe(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        try {
            int b0 = data.readUnsignedByte();
            int b1 = data.readUnsignedByte();
            if (b0 == 0x89 && b1 == 'P') {
                return probePng(data);
            }
            if (b0 == 0xFF && b1 == 0xD8) {
                return probeJpeg(data);
            }
            if (b0 == 'R' && b1 == 'I') {
                return probeWebp(data);
            }
            return Optional.empty();
        } catch (EOFException e) {
            return Optional.empty();
        }
    }

    private static Optional<ImageInfo> probePng(DataInputStream in) throws IOException {
        byte[] rest = in.readNBytes(6);
        for (int i = 0; i < 6; i++) {
            if (rest.length < 6 || rest[i] != PNG_SIGNATURE[i + 2]) {
                return Optional.empty();
            }
        }
        in.readInt();
        if (in.readInt() != 0x49484452) { // "IHDR" must be the first chunk
            return Optional.empty();
        }
        int width = in.readInt();
        int height = in.readInt();
        return sized(ImageFormat.PNG, width, height);
    }

    private static Optional<ImageInfo> probeJpeg(DataInputStream in) throws IOException {
        while (true) {
            int b = in.readUnsignedByte();
            if (b != 0xFF) {
                return Optional.empty();
            }
            int marker;
            do {
                marker = in.readUnsignedByte();
            } while (marker == 0xFF); // fill bytes
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
                continue; // markers without a length
            }
            if (marker == 0xD9 || marker == 0xDA) {
                return Optional.empty(); // end of image or scan data before any frame header
            }
            int length = in.readUnsignedShort();
            if (length < 2) {
                return Optional.empty();
            }
            if (isStartOfFrame(marker)) {
                in.readUnsignedByte(); // sample precision
                int height = in.readUnsignedShort();
                int width = in.readUnsignedShort();
                return sized(ImageFormat.JPEG, width, height);
            }
            in.skipNBytes(length - 2);
        }
    }

    private static boolean isStartOfFrame(int marker) {
        // C4 (huffman tables), C8 (reserved) and CC (arithmetic conditioning) share the range
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    private static Optional<ImageInfo> probeWebp(DataInputStream in) throws IOException {
        byte[] head = in.readNBytes(14); // "FF" + size + "WEBP" + chunk fourcc
        if (head.length < 14 || head[0] != 'F' || head[1] != 'F'
                || !ascii(head, 6, "WEBP")) {
            return Optional.empty();
        }
        String chunk = new String(head, 10, 4, StandardCharsets.US_ASCII);
        in.readInt(); // chunk size
        return switch (chunk) {
            case "VP8L" -> {
                if (in.readUnsignedByte() != 0x2F) {
                    yield Optional.empty();
                }
                long bits = readLittleEndian(in, 4);
                int width = (int) (bits & 0x3FFF) + 1;
                int height = (int) ((bits >> 14) & 0x3FFF) + 1;
                yield sized(ImageFormat.WEBP, width, height);
            }
            case "VP8 " -> {
                in.skipNBytes(3); // frame tag
                if (in.readUnsignedByte() != 0x9D || in.readUnsignedByte() != 0x01 || in.readUnsignedByte() != 0x2A) {
                    yield Optional.empty();
                }
                int width = (int) readLittleEndian(in, 2) & 0x3FFF;
                int height = (int) readLittleEndian(in, 2) & 0x3FFF;
                yield sized(ImageFormat.WEBP, width, height);
            }
            case "VP8X" -> {
                in.skipNBytes(4); // flags and reserved bits
                int width = (int) readLittleEndian(in, 3) + 1;
                int height = (int) readLittleEndian(in, 3) + 1;
                yield sized(ImageFormat.WEBP, width, height);
            }
            default -> Optional.empty();
        };
    }

    private static boolean ascii(byte[] bytes, int offset, String expected) {
        for (int i = 0; i < expected.length(); i++) {
            if (bytes[offset + i] != expected.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static long readLittleEndian(DataInputStream in, int byteCount) throws IOException {
        long value = 0;
        for (int i = 0; i < byteCount; i++) {
            value |= (long) in.readUnsignedByte() << (8 * i);
        }
        return value;
    }

    private static Optional<ImageInfo> sized(ImageFormat format, int width, int height) {
        if (width <= 0 || height <= 0) {
            return Optional.empty();
        }
        return Optional.of(new ImageInfo(format, width, height));
    }
}
