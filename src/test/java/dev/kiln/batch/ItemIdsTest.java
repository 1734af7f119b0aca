package dev.kiln.batch;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class ItemIdsTest {

    @Test
    void aRepeatedIdIsFoundAmongAHundredThousand() {
        ItemIds ids = new ItemIds();
        assertThat(IntStream.range(0, 100_000).allMatch(i -> ids.add("SKU-" + i))).isTrue();
        assertThat(ids.add("SKU-99999")).isFalse();
        assertThat(ids.add("SKU-0")).isFalse();
        assertThat(ids.add("sku-0")).isTrue();
        assertThat(ids.add("")).isTrue();
        assertThat(ids.add("")).isFalse();
    }
}
