package dev.kiln.provider;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The provider's usage as Kiln reads and prices it, cached input included. */
class ProviderUsageTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PriceConfig PRICES = new PriceConfig() {
        @Override public double textInputPerMillion() { return 5; }
        @Override public double imageInputPerMillion() { return 8; }
        @Override public double imageOutputPerMillion() { return 30; }
        @Override public double cachedTextInputPerMillion() { return 1.25; }
        @Override public double cachedImageInputPerMillion() { return 2; }
    };

    @Test
    void anAnswerWithoutCachedInputIsPricedAtTheFullRates() throws Exception {
        ProviderUsage usage = ProviderUsage.fromJson(JSON.readTree(
                "{\"input_tokens\":1050,\"input_tokens_details\":{\"text_tokens\":26,\"image_tokens\":1024},\"output_tokens\":196}"));
        assertThat(usage).isEqualTo(new ProviderUsage(26, 1024, 196));
        assertThat(PRICES.cost(usage)).isCloseTo((26 * 5 + 1024 * 8 + 196 * 30) / 1e6, within(1e-12));
    }

    @Test
    void cachedInputIsPricedAtTheCachedRatesWhereTheUsageReportsIt() throws Exception {
        ProviderUsage split = ProviderUsage.fromJson(JSON.readTree("{\"input_tokens\":1050,\"input_tokens_details\":"
                + "{\"text_tokens\":26,\"image_tokens\":1024,\"cached_tokens\":1040,"
                + "\"cached_tokens_details\":{\"text_tokens\":16,\"image_tokens\":1024}},\"output_tokens\":196}"));
        assertThat(split).isEqualTo(new ProviderUsage(26, 1024, 196, 16, 1024));
        assertThat(split.cachedInputTokens()).isEqualTo(1040);
        assertThat(PRICES.cost(split)).isCloseTo((10 * 5 + 16 * 1.25 + 1024 * 2 + 196 * 30) / 1e6, within(1e-12));

        // An unsplit count goes to the prompt first, and never beyond the tokens of each kind.
        ProviderUsage unsplit = ProviderUsage.fromJson(JSON.readTree("{\"input_tokens\":1050,\"input_tokens_details\":"
                + "{\"text_tokens\":26,\"image_tokens\":1024,\"cached_tokens\":5000},\"output_tokens\":196}"));
        assertThat(unsplit).isEqualTo(new ProviderUsage(26, 1024, 196, 26, 1024));
        assertThat(ProviderUsage.fromJson(JSON.readTree("{\"input_tokens\":30,\"input_tokens_details\":"
                + "{\"text_tokens\":30,\"cached_tokens\":20},\"output_tokens\":196}")))
                .isEqualTo(new ProviderUsage(30, 0, 196, 20, 0));
    }
}
