package dev.kiln.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

class WebpLosslessEncoderTest {

    @Test
    void containerAndHeaderAreWellFormed() {
        int width = 37;
        int height = 19;
        byte[] webp = WebpLosslessEncoder.encode(pattern(width, height), width, height, true);
        ByteBuffer b = ByteBuffer.wrap(webp).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(webp, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("RIFF");
        assertThat(b.getInt(4)).isEqualTo(webp.length - 8);
        assertThat(new String(webp, 8, 8, StandardCharsets.US_ASCII)).isEqualTo("WEBPVP8L");
        int chunk = b.getInt(16);
        assertThat(20 + chunk + (chunk & 1)).isEqualTo(webp.length);
        assertThat(webp[20]).isEqualTo((byte) 0x2F);
        int header = b.getInt(21);
        assertThat(header & 0x3FFF).isEqualTo(width - 1);
        assertThat((header >>> 14) & 0x3FFF).isEqualTo(height - 1);
        assertThat((header >>> 28) & 1).as("alpha_is_used").isEqualTo(1);
        assertThat(header >>> 29).as("version").isZero();
        // 8 bits for each of the four channels of every pixel, after a few hundred bits of codes
        assertThat(chunk).isBetween(width * height * 4, width * height * 4 + 200);
        assertThat(ImageProbe.probe(webp)).contains(new ImageInfo(ImageFormat.WEBP, width, height));
    }

    @Test
    void opaqueImagesSpendNoBitsOnAlpha() {
        byte[] webp = WebpLosslessEncoder.encode(pattern(64, 64), 64, 64, false);
        int chunk = ByteBuffer.wrap(webp).order(ByteOrder.LITTLE_ENDIAN).getInt(16);
        assertThat(chunk).isBetween(64 * 64 * 3, 64 * 64 * 3 + 200);
        assertThat((ByteBuffer.wrap(webp).order(ByteOrder.LITTLE_ENDIAN).getInt(21) >>> 28) & 1).isZero();
    }

    /** The real decoder, where Debian's {@code webp} package is installed; skipped elsewhere. */
    @Test
    void dwebpDecodesEveryPixel(@TempDir Path dir) throws IOException, InterruptedException {
        assumeThat(onPath("dwebp")).as("dwebp on PATH").isTrue();
        int width = 37;
        int height = 19;
        int[] pixels = pattern(width, height);
        Path webp = dir.resolve("a.webp");
        Path pam = dir.resolve("a.pam");
        Files.write(webp, WebpLosslessEncoder.encode(pixels, width, height, true));
        Process dwebp = new ProcessBuilder("dwebp", webp.toString(), "-pam", "-o", pam.toString())
                .redirectErrorStream(true).start();
        dwebp.getInputStream().readAllBytes();
        assertThat(dwebp.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(dwebp.exitValue()).isZero();
        byte[] decoded = Files.readAllBytes(pam);
        String text = new String(decoded, StandardCharsets.ISO_8859_1);
        assertThat(text).contains("WIDTH 37\nHEIGHT 19\nDEPTH 4");
        int offset = text.indexOf("ENDHDR\n") + 7;
        for (int i = 0; i < pixels.length; i++) {
            int p = pixels[i];
            int o = offset + i * 4; // PAM RGB_ALPHA is R, G, B, A
            int argb = (decoded[o + 3] & 0xFF) << 24 | (decoded[o] & 0xFF) << 16 | (decoded[o + 1] & 0xFF) << 8
                    | (decoded[o + 2] & 0xFF);
            assertThat(argb).as("pixel %d", i).isEqualTo(p);
        }
    }

    static boolean onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    private static int[] pattern(int width, int height) {
        int[] pixels = new int[width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                pixels[y * width + x] = (x * y & 0xFF) << 24 | (x * 7 & 0xFF) << 16 | (y * 13 & 0xFF) << 8 | (x + y & 0xFF);
            }
        }
        return pixels;
    }
}
