package dev.kiln.simulator;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SimulatorSettingsTest {

    @Test
    void defaults() {
        SimulatorSettings s = SimulatorSettings.defaults();
        assertThat(s.host()).isEqualTo("127.0.0.1");
        assertThat(s.port()).isZero();
        assertThat(s.rejectedApiKeys()).containsExactly("sk-invalid");
        assertThat(s.moderationMarker()).isEqualTo("FORBIDDEN");
        assertThat(s.faultRates().values()).containsOnly(0.0);
        assertThat(s.burstSeconds()).isEqualTo(60);
        assertThat(s.timeScale()).isEqualTo(1.0);
    }

    @Test
    void batchCompletionDelayTakesDurations() {
        SimulatorSettings s = SimulatorSettings.defaults();
        assertThat(s.batchCompletionDelayMillis()).isZero();
        assertThat(s.withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", "10m").batchCompletionDelayMillis()).isEqualTo(600_000);
        assertThat(s.withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", "1.5h").batchCompletionDelayMillis()).isEqualTo(5_400_000);
        assertThat(s.withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", "250ms").batchCompletionDelayMillis()).isEqualTo(250);
        assertThat(s.withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", "PT2M").batchCompletionDelayMillis()).isEqualTo(120_000);
        assertThat(s.withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", "1500").batchCompletionDelayMillis()).isEqualTo(1500);
        assertThat(s.withArgs("--batch-completion-delay=30s").batchCompletionDelayMillis()).isEqualTo(30_000);
        assertThatThrownBy(() -> s.withSetting("SIMULATOR_BATCH_COMPLETION_DELAY", "soon"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theTimeScaleMultipliesSimulatedDurations() {
        SimulatorSettings s = SimulatorSettings.defaults().withEnv(Map.of("SIMULATOR_TIME_SCALE", "0.05"));
        assertThat(s.timeScale()).isEqualTo(0.05);
        assertThat(s.scaledMillis(240_000)).isEqualTo(12_000);
        assertThatThrownBy(() -> s.withSetting("SIMULATOR_TIME_SCALE", "0")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.withSetting("SIMULATOR_TIME_SCALE", "-1")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void environmentThenArguments() {
        SimulatorSettings s = SimulatorSettings.defaults().withEnv(Map.of(
                "SIMULATOR_PORT", "8089",
                "SIMULATOR_IPM", "50",
                "SIMULATOR_RPM", "500",
                "SIMULATOR_BURST_SECONDS", "10",
                "SIMULATOR_LATENCY_HIGH_MS", "3000",
                "SIMULATOR_LATENCY_HIGH_JITTER_MS", "1000",
                "SIMULATOR_FAULT_5XX_RATE", "0.05",
                "SIMULATOR_FAULT_429_NO_RETRY_AFTER_RATE", "0.01",
                "SIMULATOR_API_KEYS", "sk-a, sk-b",
                "OTHER", "ignored"))
                .withArgs("--ipm=70", "--fault-wrong-size-rate=0.5", "--moderation_marker=nope");
        assertThat(s.port()).isEqualTo(8089);
        assertThat(s.imagesPerMinute()).isEqualTo(70);
        assertThat(s.requestsPerMinute()).isEqualTo(500);
        assertThat(s.burstSeconds()).isEqualTo(10);
        assertThat(s.latencyFor("high")).isEqualTo(new Latency(3000, 1000));
        assertThat(s.latencyFor("auto")).isEqualTo(Latency.NONE);
        assertThat(s.faultRates()).containsEntry(Fault.SERVER_ERROR, 0.05)
                .containsEntry(Fault.RATE_LIMIT_WITHOUT_RETRY_AFTER, 0.01)
                .containsEntry(Fault.WRONG_SIZE, 0.5);
        assertThat(s.acceptedApiKeys()).isEqualTo(Set.of("sk-a", "sk-b"));
        assertThat(s.moderationMarker()).isEqualTo("nope");
    }

    @Test
    void refusesUnknownNamesAndBadValues() {
        SimulatorSettings s = SimulatorSettings.defaults();
        assertThatThrownBy(() -> s.withSetting("SIMULATOR_NOPE", "1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.withSetting("SIMULATOR_IPM", "many")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.withSetting("SIMULATOR_FAULT_HANG_RATE", "2")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.withArgs("ipm=5")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void faultEnvNames() {
        assertThat(Fault.SERVER_ERROR.envName()).isEqualTo("SIMULATOR_FAULT_5XX_RATE");
        assertThat(Fault.TRUNCATED_B64.envName()).isEqualTo("SIMULATOR_FAULT_TRUNCATED_B64_RATE");
        assertThat(Fault.fromHeader("Malformed-JSON")).contains(Fault.MALFORMED_JSON);
    }
}
