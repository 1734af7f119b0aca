package dev.kiln.simulator;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Pads a PNG to a size with a private ancillary chunk ({@code kiLn}: ancillary, private, safe to
 * copy), which every decoder skips, so the picture stays what it was. The placeholders compress to
 * tens of KB where a real 1536×1024 high-quality render is a few MB; padded, a benchmark moves the
 * bytes of real renders through the client, the disk and S3 without the simulator drawing them.
 */
final class PngPadding {

    private static final byte[] TYPE = "kiLn".getBytes(StandardCharsets.US_ASCII);
    /** Length, type and CRC of a chunk, and of the {@code IEND} chunk that ends every PNG. */
    private static final int CHUNK_OVERHEAD = 12;

    private PngPadding() {
    }

    /** {@code png} at least {@code minBytes} long: as it is when it already is, else padded before its {@code IEND}. */
    static byte[] padTo(byte[] png, long minBytes) {
        if (png.length >= minBytes) {
            return png;
        }
        int data = (int) Math.max(0, minBytes - png.length - CHUNK_OVERHEAD);
        int iend = png.length - CHUNK_OVERHEAD;
        ByteBuffer out = ByteBuffer.allocate(png.length + CHUNK_OVERHEAD + data);
        out.put(png, 0, iend);
        out.putInt(data);
        out.put(TYPE);
        byte[] zeros = new byte[data];
        out.put(zeros);
        CRC32 crc = new CRC32();
        crc.update(TYPE);
        crc.update(zeros);
        out.putInt((int) crc.getValue());
        out.put(png, iend, CHUNK_OVERHEAD);
        return out.array();
    }
}
