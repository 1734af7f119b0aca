package dev.kiln.batch;

import dev.kiln.api.Problem.FieldError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every intake rule, one row each: the item that breaks it and the field that must be named. */
class BatchValidatorTest {

    private final BatchValidator validator = new BatchValidator(new TestIntakeConfig(3));

    static Stream<Arguments> brokenItems() {
        return Stream.of(
                Arguments.of("missing id", item(null, "p").build(), "items[0].id"),
                Arguments.of("missing prompt", item("a", null).build(), "items[0].prompt"),
                Arguments.of("empty prompt", item("a", "").build(), "items[0].prompt"),
                Arguments.of("prompt over 32,000 characters", item("a", "x".repeat(32_001)).build(), "items[0].prompt"),
                Arguments.of("size not WxH", item("a", "p").size("big").build(), "items[0].size"),
                Arguments.of("edge not a multiple of 16", item("a", "p").size("1000x1024").build(), "items[0].size"),
                Arguments.of("edge over 3840", item("a", "p").size("3856x1088").build(), "items[0].size"),
                Arguments.of("aspect over 3:1", item("a", "p").size("3840x1024").build(), "items[0].size"),
                Arguments.of("too few pixels", item("a", "p").size("768x768").build(), "items[0].size"),
                Arguments.of("too many pixels", item("a", "p").size("3840x2176").build(), "items[0].size"),
                Arguments.of("n of 0", item("a", "p").n(0).build(), "items[0].n"),
                Arguments.of("n of 11", item("a", "p").n(11).build(), "items[0].n"),
                Arguments.of("unknown quality", item("a", "p").quality("ultra").build(), "items[0].quality"),
                Arguments.of("unknown format", item("a", "p").format("gif").build(), "items[0].output_format"),
                Arguments.of("unknown background", item("a", "p").background("green").build(), "items[0].background"),
                Arguments.of("transparent jpeg", item("a", "p").background("transparent").format("jpeg").build(), "items[0].background"),
                Arguments.of("compression with png", item("a", "p").compression(50).format("png").build(), "items[0].output_compression"),
                Arguments.of("compression over 100", item("a", "p").compression(101).format("jpeg").build(), "items[0].output_compression"),
                Arguments.of("unknown moderation", item("a", "p").moderation("none").build(), "items[0].moderation"),
                Arguments.of("not a gpt-image model", item("a", "p").model("dall-e-3").build(), "items[0].model"),
                Arguments.of("unknown input fidelity", item("a", "p").fidelity("max").build(), "items[0].input_fidelity"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenItems")
    void eachRuleNamesTheField(String rule, BatchItem item, String field) {
        List<FieldError> errors = validator.validate(new BatchRequest(null, null, List.of(item), null));
        assertThat(errors).extracting(FieldError::field).contains(field);
        assertThat(errors).allSatisfy(e -> assertThat(e.reason()).isNotBlank());
    }

    @Test
    void aValidBatchHasNoErrors() {
        BatchItem a = item("a", "a mug").size("3840x2160").format("jpeg").compression(80).build();
        BatchItem b = item("b", "ナイキのスニーカー").size("auto").background("transparent").format("webp").n(3).build();
        BatchItem c = item("c", "p").size("1024x1536").quality("high").moderation("low").model("gpt-image-1").build();
        assertThat(validator.validate(new BatchRequest("ext", null, List.of(a, b, c), "https://example.com/hook"))).isEmpty();
    }

    @Test
    void batchLevelRulesNameTheirFields() {
        BatchDefaults bad = new BatchDefaults(null, "1x1", null, null, null, null, null, null, null, null, null);
        List<FieldError> errors = validator.validate(new BatchRequest("", bad,
                List.of(item("a", "p").build(), item("a", "p").build()), "ftp://x"));
        assertThat(errors).extracting(FieldError::field)
                .contains("external_id", "webhook", "defaults.size", "items[1].id")
                .doesNotContain("items[0].size");
        assertThat(validator.validate(new BatchRequest(null, null, List.of(), null)))
                .extracting(FieldError::field).containsExactly("items");
        List<BatchItem> four = List.of(item("a", "p").build(), item("b", "p").build(), item("c", "p").build(), item("d", "p").build());
        assertThat(validator.validate(new BatchRequest(null, null, four, null)))
                .extracting(FieldError::field).containsExactly("items");
    }

    @Test
    void aRuleBrokenOnlyByAnItemsOverrideNamesTheItem() {
        BatchDefaults transparent = new BatchDefaults(null, null, null, "transparent", "png", null, null, null, null, null, null);
        List<FieldError> errors = validator.validate(new BatchRequest(null, transparent,
                List.of(item("a", "p").build(), item("b", "p").format("jpeg").build()), null));
        assertThat(errors).extracting(FieldError::field).containsExactly("items[1].background");
    }

    static ItemBuilder item(String id, String prompt) {
        return new ItemBuilder(id, prompt);
    }

    /** Builds items with only the fields a row needs. */
    static final class ItemBuilder {
        private final String id;
        private final String prompt;
        private String model;
        private String size;
        private String quality;
        private String background;
        private String format;
        private Integer compression;
        private String moderation;
        private Integer n;
        private String fidelity;

        ItemBuilder(String id, String prompt) {
            this.id = id;
            this.prompt = prompt;
        }

        ItemBuilder model(String v) { model = v; return this; }
        ItemBuilder size(String v) { size = v; return this; }
        ItemBuilder quality(String v) { quality = v; return this; }
        ItemBuilder background(String v) { background = v; return this; }
        ItemBuilder format(String v) { format = v; return this; }
        ItemBuilder compression(Integer v) { compression = v; return this; }
        ItemBuilder moderation(String v) { moderation = v; return this; }
        ItemBuilder n(Integer v) { n = v; return this; }
        ItemBuilder fidelity(String v) { fidelity = v; return this; }

        BatchItem build() {
            return new BatchItem(id, prompt, model, size, quality, background, format, compression, moderation, n,
                    fidelity, new ArrayList<>(), null, null);
        }
    }

    private record TestIntakeConfig(int maxItems) implements IntakeConfig {
        @Override
        public String defaultModel() {
            return "gpt-image-2";
        }

        @Override
        public int maxItemIdLength() {
            return 256;
        }

        @Override
        public int publishConcurrency() {
            return 1;
        }

        @Override
        public Duration publishTimeout() {
            return Duration.ofSeconds(1);
        }
    }
}
