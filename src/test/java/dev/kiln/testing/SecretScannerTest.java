package dev.kiln.testing;

import org.junit.jupiter.api.Test;

import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecretScannerTest {

    @Test
    void findsASecretInItsPlainBase64AndUrlFormsAndNamesItWithoutShowingIt() {
        SecretScanner scanner = new SecretScanner().add("tenant key", "kiln_abc/def+ghi=jkl").add("webhook", "whsec_c2VjcmV0LWJ5dGVzLWhlcmU=");
        assertThat(scanner.findIn("nothing here")).isEmpty();
        assertThat(scanner.findIn("Authorization: Bearer kiln_abc/def+ghi=jkl")).containsExactly("tenant key");
        assertThat(scanner.findIn("x=" + Base64.getEncoder().encodeToString("kiln_abc/def+ghi=jkl".getBytes()))).containsExactly("tenant key");
        assertThat(scanner.findIn("q=kiln_abc%2Fdef%2Bghi%3Djkl")).containsExactly("tenant key");
        assertThat(scanner.findIn("key c2VjcmV0LWJ5dGVzLWhlcmU=")).containsExactly("webhook");
        assertThat(scanner.findInAll(List.of("a kiln_abc/def+ghi=jkl", "b whsec_c2VjcmV0LWJ5dGVzLWhlcmU="))).containsExactly("tenant key", "webhook");
        assertThat(scanner.toString()).doesNotContain("kiln_abc");
    }

    @Test
    void refusesSecretsTooShortToScanFor() {
        assertThatThrownBy(() -> new SecretScanner().add("short", "abc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void capturedLogsSeeFormattedParameters() {
        try (CapturedLogs logs = CapturedLogs.start()) {
            org.jboss.logging.Logger.getLogger("dev.kiln.test").warnf("value %s", "kiln_captured_value");
            assertThat(new SecretScanner().add("v", "kiln_captured_value").findInAll(logs.lines())).containsExactly("v");
        }
    }
}
