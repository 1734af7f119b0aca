package dev.kiln.deploy;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The reading of Kiln's settings that the manifest checks rely on, on a mapping of its own. */
class KilnSettingsTest {

    @ConfigMapping(prefix = "sample")
    interface SampleConfig {
        @WithDefault("16")
        int maxInFlight();

        @WithName("renamed-key")
        Optional<String> original();

        Nested timeouts();

        Map<String, String> labels();

        interface Nested {
            @WithDefault("PT90S")
            Duration low();
        }
    }

    @Test
    void readsMappingsNestedGroupsMapsAndApplicationProperties(@TempDir Path dir) throws IOException {
        Path props = dir.resolve("application.properties");
        Files.writeString(props, """
                sample.api-key=${SAMPLE_API_KEY:}
                kafka.bootstrap.servers=${KAFKA_BOOTSTRAP_SERVERS:localhost:9092}
                sample.max-in-flight=${SAMPLE_WORKERS:4}
                %dev.sample.only-in-dev=true
                """);
        KilnSettings settings = KilnSettings.of(List.of(SampleConfig.class), props);

        assertThat(settings.isSetting("SAMPLE_MAX_IN_FLIGHT")).isTrue();
        assertThat(settings.isSetting("SAMPLE_RENAMED_KEY")).isTrue();
        assertThat(settings.isSetting("SAMPLE_ORIGINAL")).as("@WithName replaces the method name").isFalse();
        assertThat(settings.isSetting("SAMPLE_TIMEOUTS_LOW")).isTrue();
        assertThat(settings.isSetting("SAMPLE_LABELS_TEAM")).as("any key under a map").isTrue();
        assertThat(settings.isSetting("SAMPLE_API_KEY")).isTrue();
        assertThat(settings.isSetting("KAFKA_BOOTSTRAP_SERVERS")).isTrue();
        assertThat(settings.isSetting("SAMPLE_WORKERS")).isTrue();
        assertThat(settings.isSetting("SAMPLE_ONLY_IN_DEV")).as("profile keys are not production settings").isFalse();
        assertThat(settings.isSetting("SAMPLE_INSTANCE_ID")).isFalse();

        assertThat(settings.mappingDefault("sample.timeouts.low")).contains("PT90S");
        assertThat(settings.effectiveDefault("sample.max-in-flight")).as("application.properties wins").contains("4");
        assertThat(settings.effectiveDefault("kafka.bootstrap.servers")).contains("localhost:9092");
    }

    @Test
    void findsKilnsOwnMappings() {
        KilnSettings kiln = KilnSettings.load();
        // Names the README documents; each must come out of the code, not out of a list.
        assertThat(List.of("KILN_ROLE", "KILN_WORKER_MAX_IN_FLIGHT", "KILN_S3_ENDPOINT", "OPENAI_API_KEY",
                "OPENAI_BASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "KILN_STATUS_VIEW_STATE_DIR"))
                .allMatch(kiln::isSetting);
        assertThat(kiln.isSetting("KILN_NO_SUCH_SETTING")).isFalse();
    }
}
