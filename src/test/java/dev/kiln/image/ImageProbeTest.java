package dev.kiln.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

class ImageProbeTest {

    @Test
    void png() throws IOException {
        byte[] png = imageIo("png", 37, 19, BufferedImage.TYPE_INT_ARGB);
        assertThat(ImageProbe.probe(png)).contains(new ImageInfo(ImageFormat.PNG, 37, 19));
    }

    @Test
    void jpeg() throws IOException {
        byte[] jpeg = imageIo("jpeg", 1536, 16, BufferedImage.TYPE_INT_RGB);
        assertThat(ImageProbe.probe(jpeg)).contains(new ImageInfo(ImageFormat.JPEG, 1536, 16));
    }

    @Test
    void jpegWithMetadataSegmentsBeforeTheFrame() {
        // SOI, an APP1 of 100 bytes, fill bytes, then SOF2 (progressive) 300 wide, 200 high
        byte[] app1 = new byte[102];
        app1[0] = (byte) 0xFF;
        app1[1] = (byte) 0xE1;
        app1[3] = 100;
        byte[] jpeg = concat(HexFormat.of().parseHex("FFD8"), app1,
                HexFormat.of().parseHex("FFFFC2001108" + "00C8" + "012C" + "03"));
        assertThat(ImageProbe.probe(jpeg)).contains(new ImageInfo(ImageFormat.JPEG, 300, 200));
    }

    @Test
    void webpLossless(@TempDir Path dir) throws IOException {
        byte[] webp = WebpLosslessEncoder.encode(new int[1024 * 48], 1024, 48, true);
        Path file = dir.resolve("a.webp");
        Files.write(file, webp);
        assertThat(ImageProbe.probe(file)).contains(new ImageInfo(ImageFormat.WEBP, 1024, 48));
    }

    @Test
    void webpLossyAndExtendedHeaders() {
        // RIFF....WEBPVP8 , size, frame tag, start code 9d012a, width 640, height 480 (14 bits each)
        byte[] lossy = HexFormat.of().parseHex("52494646000000005745425056503820" + "00000000"
                + "000000" + "9d012a" + "8002" + "e001");
        assertThat(ImageProbe.probe(lossy)).contains(new ImageInfo(ImageFormat.WEBP, 640, 480));
        // VP8X: flags + reserved, canvas width-1 = 3839, height-1 = 2159 (24 bits little-endian)
        byte[] extended = HexFormat.of().parseHex("52494646000000005745425056503858" + "0a000000"
                + "10000000" + "ff0e00" + "6f0800");
        assertThat(ImageProbe.probe(extended)).contains(new ImageInfo(ImageFormat.WEBP, 3840, 2160));
    }

    @Test
    void notAnImageOrCutShort() throws IOException {
        assertThat(ImageProbe.probe("hello, world".getBytes())).isEmpty();
        assertThat(ImageProbe.probe(new byte[0])).isEmpty();
        byte[] png = imageIo("png", 20, 20, BufferedImage.TYPE_INT_RGB);
        assertThat(ImageProbe.probe(Arrays.copyOf(png, 20))).isEmpty();
        byte[] webp = WebpLosslessEncoder.encode(new int[4], 2, 2, false);
        assertThat(ImageProbe.probe(Arrays.copyOf(webp, 22))).isEmpty();
        assertThat(ImageProbe.probe(HexFormat.of().parseHex("FFD8FFDA0002"))).isEmpty();
    }

    static byte[] imageIo(String format, int width, int height, int type) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(new BufferedImage(width, height, type), format, out)).isTrue();
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
