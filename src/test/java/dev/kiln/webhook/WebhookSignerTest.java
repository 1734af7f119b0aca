package dev.kiln.webhook;

import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The signer against the Standard Webhooks spec: its published test vector, and the spec written out here. */
class WebhookSignerTest {

    // The test vector the Standard Webhooks reference libraries share.
    private static final String SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final String SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private static final long SPEC_TIMESTAMP = 1614265330L;
    private static final String SPEC_BODY = "{\"test\": 2432232314}";
    private static final String SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    @Test
    void reproducesTheSpecsTestVector() {
        assertThat(WebhookSigner.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.getBytes(StandardCharsets.UTF_8), List.of(SPEC_SECRET)))
                .isEqualTo(SPEC_SIGNATURE);
    }

    @Test
    void duringARotationEverySecretSignsAndEitherVerifies() {
        String current = WebhookSigner.newSecret();
        byte[] body = "{\"type\":\"batch.completed\",\"data\":{\"prompt\":\"テラコッタ\"}}".getBytes(StandardCharsets.UTF_8);
        String header = WebhookSigner.sign("msg_1", 1_700_000_000L, body, List.of(current, SPEC_SECRET));

        assertThat(header.split(" ")).hasSize(2);
        assertThat(verify(current, "msg_1", "1700000000", body, header)).isTrue();
        assertThat(verify(SPEC_SECRET, "msg_1", "1700000000", body, header)).isTrue();
        assertThat(verify(WebhookSigner.newSecret(), "msg_1", "1700000000", body, header)).isFalse();
        assertThat(verify(current, "msg_2", "1700000000", body, header)).as("another id").isFalse();
        assertThat(verify(current, "msg_1", "1700000001", body, header)).as("another timestamp").isFalse();
    }

    @Test
    void freshSecretsAreWhsecAndThirtyTwoBytesOfBase64() {
        String secret = WebhookSigner.newSecret();
        assertThat(secret).startsWith("whsec_");
        assertThat(Base64.getDecoder().decode(secret.substring(6))).hasSize(32);
        assertThat(WebhookSigner.newSecret()).isNotEqualTo(secret);
    }

    @Test
    void refusesWhatIsNotASecret() {
        assertThatThrownBy(() -> WebhookSigner.key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WebhookSigner.key("whsec_not base64!")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WebhookSigner.key("whsec_c2hvcnQ=")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WebhookSigner.sign("msg", 1, new byte[0], List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * The receiver's side, written from the spec and nothing of Kiln's: strip {@code whsec_},
     * base64-decode the key, HMAC-SHA256 over {@code id.timestamp.body}, base64, and compare in
     * constant time with each space-separated {@code v1,} entry.
     */
    static boolean verify(String secret, String id, String timestamp, byte[] body, String signatureHeader) {
        try {
            byte[] key = Base64.getDecoder().decode(secret.substring("whsec_".length()));
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            byte[] expected = Base64.getEncoder().encode(mac.doFinal(body));
            for (String entry : signatureHeader.split(" ")) {
                if (entry.startsWith("v1,") && MessageDigest.isEqual(expected, entry.substring(3).getBytes(StandardCharsets.US_ASCII))) {
                    return true;
                }
            }
            return false;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
