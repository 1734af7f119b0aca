package dev.kiln.simulator;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * A PNG encoder (8-bit RGB or RGBA, no interlace) that filters every row with "Up" and deflates at
 * the fastest level. The simulator's placeholders repeat most rows, which Up turns into zeros, so
 * this is several times faster than ImageIO's writer (which tries all five filters on every row) and
 * its files are no larger: rendering must never be what limits a load test.
 */
final class UpFilteredPngEncoder {

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int FILTER_UP = 2;

    private UpFilteredPngEncoder() {
    }

    /** Encodes {@code argb} (row by row); alpha is written only when {@code withAlpha}. */
    static byte[] encode(int[] argb, int width, int height, boolean withAlpha) {
        int channels = withAlpha ? 4 : 3;
        ByteArrayOutputStream idat = new ByteArrayOutputStream(1 << 16);
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        try (DeflaterOutputStream zlib = new DeflaterOutputStream(idat, deflater, 1 << 16)) {
            byte[] previous = new byte[width * channels];
            byte[] current = new byte[width * channels];
            byte[] filtered = new byte[1 + width * channels];
            filtered[0] = FILTER_UP;
            for (int y = 0; y < height; y++) {
                int row = y * width;
                for (int x = 0, o = 0; x < width; x++) {
                    int p = argb[row + x];
                    current[o++] = (byte) (p >>> 16);
                    current[o++] = (byte) (p >>> 8);
                    current[o++] = (byte) p;
                    if (withAlpha) {
                        current[o++] = (byte) (p >>> 24);
                    }
                }
                for (int i = 0; i < current.length; i++) {
                    filtered[1 + i] = (byte) (current[i] - previous[i]);
                }
                zlib.write(filtered);
                byte[] swap = previous;
                previous = current;
                current = swap;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("deflating into memory failed", e);
        } finally {
            deflater.end();
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream(idat.size() + 64);
        png.writeBytes(SIGNATURE);
        byte[] header = new byte[13];
        putInt(header, 0, width);
        putInt(header, 4, height);
        header[8] = 8; // bit depth
        header[9] = (byte) (withAlpha ? 6 : 2); // colour type: RGBA or RGB
        chunk(png, "IHDR", header);
        chunk(png, "IDAT", idat.toByteArray());
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        try {
            DataOutputStream d = new DataOutputStream(out);
            d.writeInt(data.length);
            d.write(typeBytes);
            d.write(data);
            d.writeInt((int) crc.getValue());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void putInt(byte[] out, int offset, int value) {
        out[offset] = (byte) (value >>> 24);
        out[offset + 1] = (byte) (value >>> 16);
        out[offset + 2] = (byte) (value >>> 8);
        out[offset + 3] = (byte) value;
    }
}
