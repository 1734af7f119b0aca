package dev.kiln.simulator;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageFormat;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * Draws a cheap placeholder picture whose colours and layout come from a hash of the prompt and
 * the image index, so different prompts (and the images of one request) give different bytes
 * while the same request always gives the same ones: a stepped horizontal gradient, a flat band
 * across it and a flat block, like a product on a backdrop. A transparent background leaves
 * everything outside a centred ellipse fully transparent, like a product cut-out.
 *
 * <p>Everything is flat or changes only along x, so each row mostly repeats the one above: real
 * renders compress well, and placeholders of the raw size of their pixels (4 MB for a 1024x1024
 * lossless WebP) would make every test and benchmark move far more bytes than production does.
 */
final class ImageRenderer {

    /** Width of one step of the gradient: steps turn a row into runs that WebP codes in a few bits. */
    private static final int GRADIENT_STEP = 16;

    private ImageRenderer() {
    }

    /**
     * One encoded image.
     *
     * @param outputCompression 0 to 100 (100 when null, OpenAI's default): the JPEG quality; for WebP
     *                          the lower it is, the more low bits of each colour channel are dropped
     *                          before the lossless encoding (see {@link #webpQuantizeBits(Integer)})
     */
    static byte[] render(String prompt, int index, Dimensions size, ImageFormat format, boolean transparent,
                         Integer outputCompression) {
        boolean alpha = transparent && format.supportsAlpha();
        BufferedImage image = new BufferedImage(size.width(), size.height(),
                alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        int[] pixels = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
        paint(pixels, size.width(), size.height(), seed(prompt, index), alpha);
        return switch (format) {
            case WEBP -> CompactWebpEncoder.encode(pixels, size.width(), size.height(), alpha,
                    webpQuantizeBits(outputCompression));
            case PNG -> UpFilteredPngEncoder.encode(pixels, size.width(), size.height(), alpha);
            case JPEG -> write(image, "jpeg", (outputCompression == null ? 100 : outputCompression) / 100f);
        };
    }

    /**
     * Low bits dropped per colour channel of a WebP: 0 at 100 (lossless), 1 from 99, up to 4 at 0.
     * Lossless WebP has no quality knob, so this near-lossless step is what output_compression buys.
     */
    static int webpQuantizeBits(Integer outputCompression) {
        int compression = outputCompression == null ? 100 : Math.max(0, Math.min(100, outputCompression));
        return (100 - compression + 24) / 25;
    }

    private static byte[] seed(String prompt, int index) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(prompt.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(Integer.toString(index).getBytes(StandardCharsets.US_ASCII));
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static void paint(int[] pixels, int width, int height, byte[] seed, boolean alpha) {
        int from = rgb(seed, 0);
        int to = rgb(seed, 3);
        int band = mix(rgb(seed, 6), from, 128);
        int block = rgb(seed, 9);
        // the band: a 1/8 to 3/8 high strip somewhere in the upper half
        int bandTop = height * (seed[12] & 0x3F) / 128;
        int bandBottom = Math.min(height, bandTop + height * (16 + (seed[13] & 0x1F)) / 128);
        // the block: a quarter to a half of each edge, around the centre
        int blockWidth = width * (64 + (seed[14] & 0x3F)) / 256;
        int blockHeight = height * (64 + (seed[15] & 0x3F)) / 256;
        int blockLeft = (width - blockWidth) / 2 + (seed[16] % 16) * width / 256;
        int blockTop = (height - blockHeight) / 2 + (seed[17] % 16) * height / 256;

        int[] gradient = new int[width];
        for (int x = 0; x < width; x++) {
            int step = x / GRADIENT_STEP * GRADIENT_STEP;
            gradient[x] = 0xFF000000 | mix(from, to, (int) (255L * step / Math.max(1, width - 1)));
        }
        long cx = width / 2;
        long cy = height / 2;
        double rx = Math.max(1, width * 2L / 5);
        double ry = Math.max(1, height * 2L / 5);
        for (int y = 0; y < height; y++) {
            int row = y * width;
            System.arraycopy(gradient, 0, pixels, row, width);
            if (y >= bandTop && y < bandBottom) {
                Arrays.fill(pixels, row, row + width, 0xFF000000 | band);
            }
            if (y >= blockTop && y < blockTop + blockHeight) {
                Arrays.fill(pixels, row + blockLeft, row + blockLeft + blockWidth, 0xFF000000 | block);
            }
            if (alpha) {
                double dy = (y - cy) / ry;
                int halfSpan = dy * dy >= 1 ? -1 : (int) Math.floor(rx * Math.sqrt(1 - dy * dy));
                int inFrom = halfSpan < 0 ? width : (int) Math.max(0, cx - halfSpan);
                int inTo = halfSpan < 0 ? width : (int) Math.min(width, cx + halfSpan + 1);
                Arrays.fill(pixels, row, row + inFrom, 0);
                Arrays.fill(pixels, row + inTo, row + width, 0);
            }
        }
    }

    private static int rgb(byte[] seed, int offset) {
        return (seed[offset] & 0xFF) << 16 | (seed[offset + 1] & 0xFF) << 8 | (seed[offset + 2] & 0xFF);
    }

    /** {@code a} blended towards {@code b} by {@code t}/255. */
    private static int mix(int a, int b, int t) {
        int r = channel(a >> 16, b >> 16, t);
        int g = channel(a >> 8, b >> 8, t);
        int bl = channel(a, b, t);
        return r << 16 | g << 8 | bl;
    }

    private static int channel(int a, int b, int t) {
        a &= 0xFF;
        b &= 0xFF;
        return a + (b - a) * t / 255;
    }

    private static byte[] write(BufferedImage image, String formatName, float quality) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName(formatName).next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(quality);
            writer.write(null, new IIOImage(image, null, null), param);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding an in-memory image failed", e);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }
}
