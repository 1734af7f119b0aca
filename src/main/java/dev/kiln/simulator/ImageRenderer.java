package dev.kiln.simulator;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageFormat;
import dev.kiln.image.WebpLosslessEncoder;

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

/**
 * Draws a cheap placeholder picture, a gradient crossed by bands whose colours and angles come
 * from a hash of the prompt and the image index, so different prompts (and the images of one
 * request) give different bytes while the same request always gives the same ones. A transparent
 * background leaves everything outside a centred ellipse fully transparent, like a product cut-out.
 */
final class ImageRenderer {

    /** PNG deflate effort: quality 0.75 means zlib level 2, which keeps a 4K render well under a second. */
    private static final float PNG_COMPRESSION_QUALITY = 0.75f;

    private ImageRenderer() {
    }

    /**
     * One encoded image.
     *
     * @param outputCompression 0 to 100, used as the JPEG quality (100 when null, OpenAI's default);
     *                          ignored for WebP, which is always lossless here
     */
    static byte[] render(String prompt, int index, Dimensions size, ImageFormat format, boolean transparent,
                         Integer outputCompression) {
        boolean alpha = transparent && format.supportsAlpha();
        BufferedImage image = new BufferedImage(size.width(), size.height(),
                alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        int[] pixels = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
        paint(pixels, size.width(), size.height(), seed(prompt, index), alpha);
        return switch (format) {
            case WEBP -> WebpLosslessEncoder.encode(pixels, size.width(), size.height(), alpha);
            case PNG -> write(image, "png", PNG_COMPRESSION_QUALITY);
            case JPEG -> write(image, "jpeg", (outputCompression == null ? 100 : outputCompression) / 100f);
        };
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
        int band = rgb(seed, 6);
        int gradientX = (seed[9] & 0xFF) + 1; // weights of x and y in the gradient's direction
        int gradientY = (seed[10] & 0xFF) + 1;
        int bandWidth = 16 + (seed[11] & 0xFF);
        int bandX = 1 + (seed[12] & 3);
        int bandY = (seed[13] & 3);
        long cx = width / 2;
        long cy = height / 2;
        long rx = Math.max(1, width * 2L / 5);
        long ry = Math.max(1, height * 2L / 5);
        long scale = (long) gradientX * width + (long) gradientY * height;
        for (int y = 0; y < height; y++) {
            int row = y * width;
            long dy = y - cy;
            for (int x = 0; x < width; x++) {
                int t = (int) (255 * ((long) gradientX * x + (long) gradientY * y) / scale);
                int color = mix(from, to, t);
                if (((x * bandX + y * bandY) / bandWidth & 1) == 1) {
                    color = mix(color, band, 128);
                }
                int a = 0xFF;
                if (alpha) {
                    long dx = x - cx;
                    a = dx * dx * ry * ry + dy * dy * rx * rx <= rx * rx * ry * ry ? 0xFF : 0;
                }
                pixels[row + x] = a << 24 | color;
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
