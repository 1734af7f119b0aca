package dev.kiln.job;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

class Sha256Test {

    /** FIPS 180-2's first example: SHA-256 of "abc". */
    private static final String ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @Test
    void textBytesAndStreamsGiveTheSameStandardDigest() throws IOException {
        assertThat(Sha256.hexOf("abc")).isEqualTo(ABC);
        assertThat(HexFormat.of().formatHex(Sha256.of("abc".getBytes(StandardCharsets.UTF_8)))).isEqualTo(ABC);
        assertThat(Sha256.hexOf(new ByteArrayInputStream("abc".getBytes(StandardCharsets.UTF_8)))).isEqualTo(ABC);
    }

    @Test
    void everyDigestIsFresh() {
        assertThat(Sha256.digest()).isNotSameAs(Sha256.digest());
    }
}
