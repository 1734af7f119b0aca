package dev.kiln.reference;

import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.UnknownHostException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The URL guard on literal hosts, which resolve without DNS, so the table runs offline: scheme,
 * allow-list and the addresses a host stands for.
 */
class UrlGuardTest {

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "10.0.0.7", "172.16.4.4", "192.168.1.10", "169.254.169.254", "0.0.0.0",
            "[::1]", "[fc00::1]", "[::ffff:127.0.0.1]", "[fe80::1]"})
    void anAllowListedHostThatIsAnInternalAddressIsRefused(String host) {
        // The URL parser writes [::ffff:127.0.0.1] as 127.0.0.1, so that spelling is listed too.
        UrlGuard guard = new UrlGuard(TestReferenceConfig.allowing(host, "127.0.0.1"));
        assertThatThrownBy(() -> guard.check("https://" + host + "/shoe.png"))
                .isInstanceOfSatisfying(ReferenceException.class, e -> {
                    assertThat(e.code()).isEqualTo(ReferenceException.REFUSED);
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("internal address");
                });
    }

    @Test
    void anAllowListedPublicLiteralIsAllowed() {
        UrlGuard guard = new UrlGuard(TestReferenceConfig.allowing("93.184.215.14", "2606:4700:4700::1111"));
        assertThat(guard.check("https://93.184.215.14/shoe.png").host()).isEqualTo("93.184.215.14");
        assertThat(guard.check("https://[2606:4700:4700::1111]/shoe.png").host()).isEqualTo("2606:4700:4700::1111");
    }

    @Test
    void theTestEscapeAllowsLoopback() {
        UrlGuard guard = new UrlGuard(TestReferenceConfig.allowing("127.0.0.1").withPrivateAddresses());
        assertThat(guard.check("https://127.0.0.1:8443/shoe.png").port()).isEqualTo(8443);
    }

    @ParameterizedTest
    @CsvSource({
            "https://images.evil.test/a.png,     not on kiln.references.allowed-hosts",
            "https://cdn.example.com.evil.test/a.png, not on kiln.references.allowed-hosts",
            "https://example.com/a.png,          not on kiln.references.allowed-hosts",
            "http://cdn.example.com/a.png,       only https URLs",
            "ftp://cdn.example.com/a.png,        not a valid URL",
            "https://user:secret@cdn.example.com/a.png, user info",
            "file:///etc/passwd,                 not a valid URL",
            "not a url,                          not a valid URL"})
    void urlsOutsideTheRulesAreRefusedBeforeAnyLookup(String url, String reason) {
        // No host here resolves: were DNS consulted first, the answer would be a retryable lookup failure.
        UrlGuard guard = new UrlGuard(TestReferenceConfig.allowing("cdn.example.com", "*.images.example.net"));
        assertThatThrownBy(() -> guard.check(url))
                .isInstanceOfSatisfying(ReferenceException.class, e -> {
                    assertThat(e.code()).isEqualTo(ReferenceException.REFUSED);
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains(reason).doesNotContain("secret");
                });
    }

    @Test
    void theSchemeAndHostChecksStandAlone() {
        UrlGuard guard = new UrlGuard(TestReferenceConfig.allowing("cdn.example.com"));
        guard.checkSchemeAndHost(HttpUrl.get("https://cdn.example.com/a.png"));
        assertThatThrownBy(() -> guard.checkSchemeAndHost(HttpUrl.get("http://cdn.example.com/a.png")))
                .hasMessageContaining("only https URLs");
    }

    @Test
    void theDnsHookRefusesHostsOffTheList() {
        UrlGuard guard = new UrlGuard(TestReferenceConfig.allowing("cdn.example.com"));
        assertThatThrownBy(() -> guard.lookup("169.254.169.254"))
                .isInstanceOf(UrlGuard.RefusedAddressException.class)
                .isInstanceOf(UnknownHostException.class);
    }

    @ParameterizedTest
    @CsvSource({
            "cdn.example.com,         cdn.example.com,     true",
            "cdn.example.com,         CDN.Example.COM,     true",
            "cdn.example.com,         cdn.example.com.,    true",
            "cdn.example.com,         a.cdn.example.com,   false",
            "*.images.example.net,    a.images.example.net, true",
            "*.images.example.net,    a.b.images.example.net, true",
            "*.images.example.net,    images.example.net,  false",
            "*.images.example.net,    evilimages.example.net, false",
            "' cdn.example.com ',     cdn.example.com,     true"})
    void hostsMatchTheAllowList(String allowed, String host, boolean matches) {
        assertThat(TestReferenceConfig.allowing(allowed).allowsHost(host)).isEqualTo(matches);
    }

    @Test
    void noHostIsAllowedByDefault() {
        TestReferenceConfig none = new TestReferenceConfig(java.util.Optional.empty(), 1, java.time.Duration.ofSeconds(1), 3, false);
        assertThat(none.allowsHost("cdn.example.com")).isFalse();
    }

    @Test
    void aDescribedUrlKeepsNoQueryOrUserInfo() {
        assertThat(UrlGuard.describe(HttpUrl.get("https://u:p@cdn.example.com:8443/a/b.png?X-Amz-Signature=abc")))
                .isEqualTo("https://cdn.example.com:8443/a/b.png");
    }
}
