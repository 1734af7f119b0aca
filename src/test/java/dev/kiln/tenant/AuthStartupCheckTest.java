package dev.kiln.tenant;

import dev.kiln.config.Role;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The production profile refuses to run an api without keys; everything else starts. */
class AuthStartupCheckTest {

    @Test
    void productionApiWithoutAnyKeyRefusesToStart() {
        assertThat(AuthStartupCheck.refusal(true, Role.API, AuthMode.REQUIRED, false, false, false))
                .hasValueSatisfying(reason -> assertThat(reason).contains("KILN_API_KEYS", "KILN_ADMIN_API_KEY", "KILN_AUTH=off"));
        assertThat(AuthStartupCheck.refusal(true, Role.ALL, AuthMode.REQUIRED, false, false, true)).isPresent();
    }

    @Test
    void productionApiWithKeysButNoRootForWebhookSecretsRefusesToStart() {
        assertThat(AuthStartupCheck.refusal(true, Role.API, AuthMode.REQUIRED, true, false, false))
                .hasValueSatisfying(reason -> assertThat(reason).contains("KILN_SECRETS_KEY"));
        assertThat(AuthStartupCheck.refusal(true, Role.API, AuthMode.REQUIRED, true, false, true)).isEmpty();
        assertThat(AuthStartupCheck.refusal(true, Role.API, AuthMode.REQUIRED, true, true, false)).isEmpty();
        assertThat(AuthStartupCheck.refusal(true, Role.API, AuthMode.REQUIRED, false, true, false)).isEmpty();
    }

    @Test
    void authOffWorkersAndOtherProfilesStart() {
        assertThat(AuthStartupCheck.refusal(true, Role.API, AuthMode.OFF, false, false, false)).isEmpty();
        assertThat(AuthStartupCheck.refusal(true, Role.WORKER, AuthMode.REQUIRED, false, false, false)).isEmpty();
        assertThat(AuthStartupCheck.refusal(false, Role.API, AuthMode.REQUIRED, false, false, false)).isEmpty();
    }

    @Test
    void kilnAuthIsRequiredOrOff() {
        assertThat(AuthMode.parse(null)).isEqualTo(AuthMode.REQUIRED);
        assertThat(AuthMode.parse(" Off ")).isEqualTo(AuthMode.OFF);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AuthMode.parse("maybe")).hasMessageContaining("required or off");
    }
}
