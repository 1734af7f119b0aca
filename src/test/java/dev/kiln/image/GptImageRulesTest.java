package dev.kiln.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.ImageParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class GptImageRulesTest {

    @ParameterizedTest(name = "size {0} is valid")
    @ValueSource(strings = {"auto", "1024x1024", "1536x1024", "1024x1536", "3840x2160", "2160x3840",
            "2880x960", "1024x640", "2048x2048", "2880x2880"})
    void validSizes(String size) {
        assertThat(GptImageRules.checkSize(size)).isEmpty();
    }

    @ParameterizedTest(name = "size {0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "1000x1000 | multiples of 16",
            "1024x1000 | multiples of 16",
            "1024 | multiples of 16",
            "AUTO | multiples of 16",
            "1024X1024 | multiples of 16",
            "0x1024 | multiples of 16",
            "-16x1024 | multiples of 16",
            "3856x2160 | longest edge at most 3840",
            "2160x3856 | longest edge at most 3840",
            "2944x976 | aspect ratio of at most 3:1",
            "3840x1264 | aspect ratio of at most 3:1",
            "1008x640 | between 655360 and 8294400",
            "800x800 | between 655360 and 8294400",
            "3840x2176 | between 655360 and 8294400",
            "2896x2896 | between 655360 and 8294400"})
    void invalidSizes(String size, String reason) {
        assertThat(GptImageRules.checkSize(size)).hasValueSatisfying(v -> {
            assertThat(v.field()).isEqualTo("size");
            assertThat(v.reason()).contains(reason);
        });
    }

    @Test
    void pixelBoundsAreInclusive() {
        assertThat(GptImageRules.checkSize("1024x640")).isEmpty(); // exactly 655,360
        assertThat(GptImageRules.checkSize("3840x2160")).isEmpty(); // exactly 8,294,400
        assertThat(GptImageRules.checkSize("2880x960")).isEmpty(); // exactly 3:1
    }

    @ParameterizedTest
    @CsvSource(value = {"1,true", "10,true", "0,false", "11,false", "-1,false"})
    void n(int n, boolean valid) {
        assertThat(GptImageRules.checkN(n).isEmpty()).isEqualTo(valid);
    }

    @ParameterizedTest
    @CsvSource(value = {
            "quality,low,true", "quality,medium,true", "quality,high,true", "quality,auto,true",
            "quality,hd,false", "quality,HIGH,false", "quality,standard,false",
            "output_format,png,true", "output_format,jpeg,true", "output_format,webp,true",
            "output_format,jpg,false", "output_format,gif,false", "output_format,PNG,false",
            "moderation,auto,true", "moderation,low,true", "moderation,high,false",
            "input_fidelity,high,true", "input_fidelity,low,true", "input_fidelity,medium,false",
            "model,gpt-image-2,true", "model,gpt-image-1,true", "model,gpt-image-1-mini,true",
            "model,gpt-image-,false", "model,dall-e-3,false", "model,gpt-4o,false",
            "background,transparent,true", "background,opaque,true", "background,auto,true",
            "background,white,false"})
    void enumeratedValues(String field, String value, boolean valid) {
        // The field by its wire name, as a request would set it.
        ImageParameters input = new ObjectMapper().convertValue(Map.of(field, value), ImageParameters.class);
        List<Violation> violations = GptImageRules.validate(null, input);
        if (valid) {
            assertThat(violations).isEmpty();
        } else {
            assertThat(violations).singleElement().extracting(Violation::field).isEqualTo(field);
        }
    }

    @ParameterizedTest
    @CsvSource(value = {"png,true", "webp,true", "jpeg,false", ",true"})
    void transparentBackgroundNeedsAlpha(String format, boolean valid) {
        assertThat(GptImageRules.checkBackground("transparent", format).isEmpty()).isEqualTo(valid);
        assertThat(GptImageRules.checkBackground("opaque", format)).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(value = {"0,jpeg,true", "100,jpeg,true", "50,webp,true", "-1,jpeg,false", "101,webp,false",
            "80,png,false", "80,,false"})
    void outputCompression(int compression, String format, boolean valid) {
        assertThat(GptImageRules.checkOutputCompression(compression, format).isEmpty()).isEqualTo(valid);
    }

    @Test
    void promptLengthCountsCodePoints() {
        assertThat(GptImageRules.checkPrompt("")).isPresent();
        assertThat(GptImageRules.checkPrompt("a")).isEmpty();
        assertThat(GptImageRules.checkPrompt("a".repeat(32_000))).isEmpty();
        assertThat(GptImageRules.checkPrompt("a".repeat(32_001))).isPresent();
        // 32,000 emoji are 64,000 UTF-16 chars but 32,000 characters
        assertThat(GptImageRules.checkPrompt("\uD83D\uDE00".repeat(32_000))).isEmpty();
        assertThat(GptImageRules.checkPrompt("\uD83D\uDE00".repeat(32_001))).isPresent();
    }

    @Test
    void nullFieldsAreNotGivenAndFine() {
        assertThat(GptImageRules.validate(null, ImageParameters.NONE)).isEmpty();
        assertThat(GptImageRules.checkOutputCompression(null, null)).isEmpty();
        assertThat(GptImageRules.checkBackground(null, "jpeg")).isEmpty();
    }

    @Test
    void reportsEveryViolationInFieldOrder() {
        ImageParameters input = new ImageParameters("dall-e-2", "1x1", "ultra", "transparent", "jpeg", 200, "strict", 0,
                "max");
        assertThat(GptImageRules.validate("", input)).extracting(Violation::field).containsExactly(
                "model", "prompt", "size", "n", "quality", "background", "output_compression", "moderation",
                "input_fidelity");
    }

    @Test
    void dimensionsParseAndResolve() {
        assertThat(Dimensions.parse("1536x1024")).contains(new Dimensions(1536, 1024));
        assertThat(Dimensions.parse("auto")).isEmpty();
        assertThat(Dimensions.parse("15x")).isEmpty();
        assertThat(Dimensions.parse(null)).isEmpty();
        assertThat(Dimensions.resolve("auto")).isEqualTo(new Dimensions(1024, 1024));
        assertThat(Dimensions.resolve(null)).isEqualTo(Dimensions.AUTO_DEFAULT);
        assertThat(new Dimensions(3840, 2160).pixels()).isEqualTo(8_294_400L);
        assertThat(new Dimensions(3840, 2160)).hasToString("3840x2160");
    }

    @Test
    void formatNames() {
        assertThat(ImageFormat.fromName("jpeg").contentType()).isEqualTo("image/jpeg");
        assertThat(ImageFormat.fromName("webp").extension()).isEqualTo("webp");
        assertThat(ImageFormat.fromName("PNG")).isEqualTo(ImageFormat.PNG);
        assertThat(ImageFormat.find("gif")).isEmpty();
    }
}
