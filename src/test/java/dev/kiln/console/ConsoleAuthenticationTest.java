package dev.kiln.console;

import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

import java.net.URL;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The console with authentication on: it asks for a key once, keeps it in sessionStorage and
 * never in the URL, sends it as a bearer token, and goes back to the key prompt on a 401.
 */
@QuarkusTest
@TestProfile(ConsoleAuthenticationTest.KeysOn.class)
@WithTestResource(KilnStackResource.class)
class ConsoleAuthenticationTest {

    static final String KEY = "console-test-key-0123456789abcdef";
    private static final Duration PAGE = Duration.ofSeconds(15);

    /** One tenant with a configured key. */
    public static class KeysOn implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "kiln.auth.api-keys", "console=" + KEY,
                    "kiln.auth.secrets-key", "console-test-secrets-root-0123456789abcdef");
        }
    }

    private static Browser browser;

    @TestHTTPResource("/")
    URL root;

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.close();
            browser = null;
        }
    }

    @Test
    void asksForAKeyOnceKeepsItOutOfTheUrlAndAsksAgainAfterA401() {
        browser = Browser.start();
        browser.open(root + "#/submit");
        WebElement input = browser.waitForElement("#api-key", PAGE);
        assertThat(browser.driver.getCurrentUrl()).endsWith("#/key");

        input.sendKeys("not-a-key-of-this-kiln-000000");
        browser.find("form.key-form button[type=submit]").click();
        assertThat(browser.waitForElement("#key-error", PAGE).getText()).contains("did not accept");

        browser.find("#api-key").sendKeys(KEY);
        browser.find("form.key-form button[type=submit]").click();
        // Back where the user was going, signed in as the key's tenant.
        assertThat(browser.waitForElement("[data-testid=tenant-id]", PAGE).getText()).isEqualTo("console");
        browser.waitFor(PAGE, d -> d.getCurrentUrl().endsWith("#/submit"));
        browser.waitForElement("#catalogue-file", PAGE);
        assertThat(browser.driver.getCurrentUrl()).doesNotContain(KEY);
        assertThat(browser.js("return sessionStorage.getItem('kiln.key')")).isEqualTo(KEY);
        assertThat(browser.js("return localStorage.length")).isEqualTo(0L);

        // The batches list answers with the key (200, or 404/405 while the list is not built).
        browser.open(root + "#/batches");
        browser.waitFor(PAGE, d -> !d.findElements(By.cssSelector("[data-testid=batches]")).isEmpty());
        assertThat(browser.driver.findElements(By.cssSelector("#api-key"))).isEmpty();

        // A key that stops working (revoked, say) brings the prompt back.
        browser.js("sessionStorage.setItem('kiln.key', 'revoked-key-0123456789abcdef')");
        browser.open(root + "#/submit");
        browser.driver.navigate().refresh();
        browser.waitForElement("#api-key", PAGE);
        assertThat(browser.js("return sessionStorage.getItem('kiln.key')")).isNull();
        assertThat(browser.consoleErrors()).isEmpty();
    }
}
