package dev.kiln.status;

import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** Job keys are the fixed-width form the store has always held, so that a page is one key range. */
class StatusStoreKeysTest {

    @Test
    void jobKeysAreZeroPaddedToSixDigitsAsBefore() {
        for (int index : new int[]{0, 1, 9, 10, 99, 100, 12_345, 99_999, 100_000, 999_999, 1_000_000, Integer.MAX_VALUE, -1}) {
            assertThat(StatusStoreKeys.job("b_x", index)).as("index " + index)
                    .isEqualTo("j|b_x|" + String.format(Locale.ROOT, "%06d", index));
        }
        assertThat(StatusStoreKeys.job("b_x", 42)).isEqualTo("j|b_x|000042");
    }
}
