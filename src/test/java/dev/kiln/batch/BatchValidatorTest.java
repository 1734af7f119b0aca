package dev.kiln.batch;

import dev.kiln.image.GptImageRules;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.WebhookSubscription;
import dev.kiln.reference.ReferenceFetchConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every intake rule, one row each: the item that breaks it and the field that must be named. */
class BatchValidatorTest {

    private static final String TENANT = "default";
    private static final String UPLOAD = "upl_01jq0000000000000000000000";
    private static final String KEY = "default/b_01/sku-1/0.png";
    private static final String URL = "https://images.example.com/mug.png";

    private final BatchValidator validator = new BatchValidator(new TestIntakeConfig(3),
            new TestReferencesConfig(List.of("images.example.com", "*.cdn.example.net")));

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
                Arguments.of("unknown input fidelity", item("a", "p").fidelity("max").refs(UPLOAD).build(), "items[0].input_fidelity"),
                Arguments.of("reference of no known form", item("a", "p").refs("mug.png").build(), "items[0].reference_images[0]"),
                Arguments.of("null reference", item("a", "p").refs(UPLOAD, null).build(), "items[0].reference_images[1]"),
                Arguments.of("malformed upload id", item("a", "p").refs("upl_nope").build(), "items[0].reference_images[0]"),
                Arguments.of("another tenant's key", item("a", "p").refs("other/b_01/sku-1/0.png").build(), "items[0].reference_images[0]"),
                Arguments.of("key leaving its prefix", item("a", "p").refs("default/../other/x.png").build(), "items[0].reference_images[0]"),
                Arguments.of("key with an empty segment", item("a", "p").refs("default//x.png").build(), "items[0].reference_images[0]"),
                Arguments.of("plain http URL", item("a", "p").refs("http://images.example.com/a.png").build(), "items[0].reference_images[0]"),
                Arguments.of("URL host not allow-listed", item("a", "p").refs("https://evil.example.org/a.png").build(), "items[0].reference_images[0]"),
                Arguments.of("URL with credentials", item("a", "p").refs("https://u:p@images.example.com/a.png").build(), "items[0].reference_images[0]"),
                Arguments.of("17 references", item("a", "p").refs(Collections.nCopies(17, UPLOAD).toArray(String[]::new)).build(), "items[0].reference_images"),
                Arguments.of("mask without references", item("a", "p").mask(UPLOAD).build(), "items[0].mask"),
                Arguments.of("mask of no known form", item("a", "p").refs(UPLOAD).mask("mask.png").build(), "items[0].mask"),
                Arguments.of("input fidelity without references", item("a", "p").fidelity("high").build(), "items[0].input_fidelity"));
    }

    /** Rules that involve the defaults: the batch that breaks one, and the field to name. */
    static Stream<Arguments> brokenBatches() {
        return Stream.of(
                Arguments.of("default reference of no known form", batch(defaults(List.of(UPLOAD, "x"), null, null), item("a", "p").build()),
                        "defaults.reference_images[1]"),
                Arguments.of("17 default references", batch(defaults(Collections.nCopies(17, KEY), null, null), item("a", "p").build()),
                        "defaults.reference_images"),
                Arguments.of("over 16 with the defaults'", batch(defaults(Collections.nCopies(10, KEY), null, null),
                        item("a", "p").refs(Collections.nCopies(7, UPLOAD).toArray(String[]::new)).build()), "items[0].reference_images"),
                Arguments.of("default mask without any reference", batch(defaults(null, UPLOAD, null), item("a", "p").build()),
                        "defaults.mask"),
                Arguments.of("default mask of no known form", batch(defaults(List.of(KEY), "ftp://x/m.png", null), item("a", "p").build()),
                        "defaults.mask"),
                Arguments.of("default input fidelity in a batch without edits", batch(defaults(null, null, "high"), item("a", "p").build()),
                        "defaults.input_fidelity"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenBatches")
    void eachDefaultsRuleNamesTheField(String rule, BatchRequest request, String field) {
        List<FieldError> errors = validator.validate(request, TENANT);
        assertThat(errors).extracting(FieldError::field).contains(field);
        assertThat(errors).allSatisfy(e -> assertThat(e.reason()).isNotBlank());
    }

    @Test
    void itemsInARowWithTheSameParametersAreEachCheckedForTheirOwnPrompt() {
        // The parameters' rules are looked up once for a run of items with the same parameters:
        // each item must still get its own prompt's problem, in its place after the model's.
        String tooLong = "x".repeat(GptImageRules.MAX_PROMPT_CODE_POINTS + 1);
        BatchRequest request = new BatchRequest(null, null, List.of(
                item("a", "fine").size("big").build(),
                item("b", tooLong).size("big").build(),
                item("c", "fine").size("big").build(),
                item("d", "fine").build(),
                item("e", tooLong).model("dall-e-3").size("big").build(),
                item("f", tooLong).build()), null);
        BatchValidator sixItems = new BatchValidator(new TestIntakeConfig(6), new TestReferencesConfig(List.of()));
        assertThat(sixItems.validate(request, TENANT)).extracting(FieldError::field).containsExactly(
                "items[0].size",
                "items[1].prompt", "items[1].size",
                "items[2].size",
                "items[4].model", "items[4].prompt", "items[4].size",
                "items[5].prompt");
    }

    @Test
    void everyReferenceFormIsAcceptedAndDefaultsComeFirstWithinSixteen() {
        BatchDefaults shared = defaults(List.of(UPLOAD, KEY), UPLOAD, "high");
        BatchItem a = item("a", "p").refs("https://images.example.com/a.png", "https://eu.cdn.example.net/b.webp").build();
        BatchItem b = item("b", "p").refs(Collections.nCopies(14, "default/uploads/" + UPLOAD).toArray(String[]::new))
                .mask("default/masks/m.png").build();
        BatchItem generation = item("c", "p").build();
        assertThat(validator.validate(new BatchRequest(null, shared, List.of(a, b, generation), null), TENANT)).isEmpty();
        BatchItem ownEdit = item("d", "p").refs(UPLOAD).fidelity("low").mask(UPLOAD).build();
        assertThat(validator.validate(new BatchRequest(null, defaults(null, null, "high"), List.of(ownEdit, generation), null), TENANT))
                .as("a default input_fidelity serves the batch's edits").isEmpty();
    }

    @Test
    void anotherTenantsKeyIsRefusedEvenWhenItIsThisTenantsName() {
        BatchItem item = item("a", "p").refs(KEY).build();
        assertThat(validator.validate(new BatchRequest(null, null, List.of(item), null), "acme"))
                .extracting(FieldError::field).containsExactly("items[0].reference_images[0]");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenItems")
    void eachRuleNamesTheField(String rule, BatchItem item, String field) {
        List<FieldError> errors = validator.validate(new BatchRequest(null, null, List.of(item), null), TENANT);
        assertThat(errors).extracting(FieldError::field).contains(field);
        assertThat(errors).allSatisfy(e -> assertThat(e.reason()).isNotBlank());
    }

    @Test
    void aValidBatchHasNoErrors() {
        BatchItem a = item("a", "a mug").size("3840x2160").format("jpeg").compression(80).build();
        BatchItem b = item("b", "ナイキのスニーカー").size("auto").background("transparent").format("webp").n(3).build();
        BatchItem c = item("c", "p").size("1024x1536").quality("high").moderation("low").model("gpt-image-1").build();
        assertThat(validator.validate(new BatchRequest("ext", null, List.of(a, b, c), WebhookSubscription.of("https://example.com/hook")), TENANT)).isEmpty();
    }

    @Test
    void aWebhookObjectNamesItsBadUrlAndEachBadEvent() {
        List<BatchItem> one = List.of(item("a", "p").build());
        assertThat(validator.validate(new BatchRequest(null, null, one, new WebhookSubscription("https://example.com/hook",
                List.of("job.succeeded", "job.failed", "batch.completed"))), TENANT)).isEmpty();
        assertThat(validator.validate(new BatchRequest(null, null, one, new WebhookSubscription("mailto:ops@example.com",
                Arrays.asList("job.failed", "job.started", null))), TENANT))
                .containsExactly(
                        new FieldError("webhook.url", "must be an absolute http or https URL"),
                        new FieldError("webhook.events[1]", "must be one of batch.completed, job.succeeded, job.failed"),
                        new FieldError("webhook.events[2]", "must be one of batch.completed, job.succeeded, job.failed"));
        assertThat(validator.validate(new BatchRequest(null, null, one, new WebhookSubscription(null, List.of())), TENANT))
                .extracting(FieldError::field).containsExactly("webhook.url", "webhook.events");
    }

    @Test
    void batchLevelRulesNameTheirFields() {
        BatchDefaults bad = new BatchDefaults(new ImageParameters(null, "1x1", null, null, null, null, null, null, null), null, null);
        List<FieldError> errors = validator.validate(new BatchRequest("", bad,
                List.of(item("a", "p").build(), item("a", "p").build()), WebhookSubscription.of("ftp://x")), TENANT);
        assertThat(errors).extracting(FieldError::field)
                .contains("external_id", "webhook", "defaults.size", "items[1].id")
                .doesNotContain("items[0].size");
        assertThat(validator.validate(new BatchRequest(null, null, List.of(), null), TENANT))
                .extracting(FieldError::field).containsExactly("items");
        List<BatchItem> four = List.of(item("a", "p").build(), item("b", "p").build(), item("c", "p").build(), item("d", "p").build());
        assertThat(validator.validate(new BatchRequest(null, null, four, null), TENANT))
                .extracting(FieldError::field).containsExactly("items");
    }

    @Test
    void aRuleBrokenOnlyByAnItemsOverrideNamesTheItem() {
        BatchDefaults transparent = new BatchDefaults(new ImageParameters(null, null, null, "transparent", "png", null, null, null, null), null, null);
        List<FieldError> errors = validator.validate(new BatchRequest(null, transparent,
                List.of(item("a", "p").build(), item("b", "p").format("jpeg").build()), null), TENANT);
        assertThat(errors).extracting(FieldError::field).containsExactly("items[1].background");
    }

    @Test
    void aDefaultThatNeedsAFormatIsJudgedWithEachItemsFormat() {
        BatchDefaults compressed = new BatchDefaults(new ImageParameters(null, null, null, "transparent", null, 80, null, null, null), null, null);
        assertThat(validator.validate(new BatchRequest(null, compressed,
                List.of(item("a", "p").format("webp").build(), item("b", "p").format("webp").build()), null), TENANT))
                .as("every item names webp, which takes both").isEmpty();
        assertThat(validator.validate(new BatchRequest(null, compressed,
                List.of(item("a", "p").format("webp").build(), item("b", "p").build()), null), TENANT))
                .extracting(FieldError::field)
                .as("item b falls back to png, which takes transparency but no compression")
                .containsExactly("defaults.output_compression");
    }

    static BatchDefaults defaults(List<String> references, String mask, String inputFidelity) {
        return new BatchDefaults(new ImageParameters(null, null, null, null, null, null, null, null, inputFidelity), references, mask);
    }

    static BatchRequest batch(BatchDefaults defaults, BatchItem... items) {
        return new BatchRequest(null, defaults, List.of(items), null);
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
        private List<String> refs = new ArrayList<>();
        private String mask;

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
        ItemBuilder refs(String... v) { refs = Arrays.asList(v); return this; }
        ItemBuilder mask(String v) { mask = v; return this; }

        BatchItem build() {
            return new BatchItem(id, prompt, new ImageParameters(model, size, quality, background, format, compression,
                    moderation, n, fidelity), refs, mask, null);
        }
    }

    record TestReferencesConfig(List<String> hosts) implements ReferenceFetchConfig {
        @Override
        public Optional<List<String>> allowedHosts() {
            return Optional.of(hosts);
        }

        @Override
        public long maxBytes() {
            return 50L * 1024 * 1024;
        }

        @Override
        public Duration timeout() {
            return Duration.ofSeconds(30);
        }

        @Override
        public int maxRedirects() {
            return 3;
        }

        @Override
        public boolean allowPrivateAddresses() {
            return false;
        }
    }

    record TestIntakeConfig(int maxItems) implements IntakeConfig {
        @Override
        public String defaultModel() {
            return "gpt-image-2";
        }

        @Override
        public int maxItemIdLength() {
            return 256;
        }

        @Override
        public int referenceLookupConcurrency() {
            return 1;
        }

        @Override
        public int maxLineBytes() {
            return 1024;
        }

        @Override
        public Duration readTimeout() {
            return Duration.ofSeconds(1);
        }

        @Override
        public Optional<String> spoolDir() {
            return Optional.empty();
        }
    }

    @Test
    void priorityAndDeadlineAreCheckedByName() {
        BatchItem item = new BatchItem("a", "p", dev.kiln.job.ImageParameters.NONE, null, null, null);
        assertThat(validator.validate(new BatchRequest(null, null, List.of(item), null, "bulk", "PT10M"), TENANT)).isEmpty();
        assertThat(validator.validate(new BatchRequest(null, null, List.of(item), null, "interactive",
                java.time.Instant.now().plusSeconds(600).toString()), TENANT)).isEmpty();
        assertThat(validator.validate(new BatchRequest(null, null, List.of(item), null, "urgent", "soon"), TENANT))
                .extracting(dev.kiln.job.FieldError::field).containsExactly("priority", "deadline");
        assertThat(validator.validate(new BatchRequest(null, null, List.of(item), null, null, "2020-01-01T00:00:00Z"), TENANT))
                .containsExactly(new dev.kiln.job.FieldError("deadline", "is in the past"));
    }
}
