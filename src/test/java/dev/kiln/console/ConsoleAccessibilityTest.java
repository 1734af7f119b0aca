package dev.kiln.console;

import com.deque.html.axecore.results.Results;
import com.deque.html.axecore.results.Rule;
import com.deque.html.axecore.selenium.AxeBuilder;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Accessibility of the console's main pages on the real stack: axe-core (WCAG 2.1 A and AA rules)
 * finds no serious or critical violation on the batches list, a batch with a failure and a
 * gallery, the image dialog, the submit page with an estimate and with validation errors, and the
 * key prompt; the whole console works with the keyboard alone, focus always visible; and every
 * text colour pair of the style sheet is at least 4.5:1, including states no page showed here.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class ConsoleAccessibilityTest {

    private static final Duration PAGE = Duration.ofSeconds(15);
    private static final Set<String> BLOCKING = Set.of("serious", "critical");

    private static Browser browser;
    private static String batchId;

    @TestHTTPResource("/")
    URL root;

    @BeforeEach
    void openBrowserWithOneBatch() {
        if (browser == null) {
            browser = Browser.start();
        }
        if (batchId == null) {
            batchId = given().contentType(ContentType.JSON).body("""
                    {"defaults":{"size":"1024x1024","quality":"low"},"items":[
                     {"id":"MUG-1","prompt":"A white mug"},{"id":"MUG-2","prompt":"A black mug"},
                     {"id":"MUG-3","prompt":"A FORBIDDEN mug"}]}""")
                    .post("/v1/batches").then().statusCode(202).extract().path("id");
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() ->
                    "partially_failed".equals(given().get("/v1/batches/" + batchId).jsonPath().getString("state")));
        }
        // Where GET /v1/batches is not built yet, the list shows this tab's own batches.
        browser.open(root + "#/batches");
        browser.js("sessionStorage.setItem('kiln.submitted', JSON.stringify([arguments[0]]))", batchId);
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.close();
            browser = null;
        }
    }

    @Test
    void theMainPagesHaveNoSeriousAxeViolation() throws IOException {
        Map<String, List<String>> found = new LinkedHashMap<>();

        browser.open(root + "#/batches");
        browser.driver.navigate().refresh();
        browser.waitForElement("tr[data-batch-id]", PAGE);
        check("batches", found);

        browser.open(root + "#/batches/" + batchId);
        browser.waitForElement("[data-testid=failures] li", PAGE);
        browser.waitForElement("[data-testid=gallery] img", PAGE);
        check("batch", found);

        browser.find("[data-testid=gallery] button.tile").click();
        browser.waitForElement("#image-dialog[open]", PAGE);
        check("image-dialog", found);
        browser.find("#image-dialog [data-close]").click();

        Path csv = Files.createTempFile("console-a11y-", ".csv");
        Files.writeString(csv, "id,prompt,quality\nA-1,A cup,low\nA-2,A saucer,low\n");
        browser.open(root + "#/submit");
        browser.waitForElement("#catalogue-file", PAGE).sendKeys(csv.toAbsolutePath().toString());
        browser.waitForElement("[data-testid=estimate-images]", PAGE);
        check("submit-estimate", found);

        Files.writeString(csv, "id,prompt,size\nB-1,A cup,1000x1000\nB-2,A saucer,auto\n");
        browser.driver.navigate().refresh();
        browser.waitForElement("#catalogue-file", PAGE).sendKeys(csv.toAbsolutePath().toString());
        WebElement errors = browser.waitForElement("[data-testid=validation-errors]", PAGE);
        assertThat(errors.getText()).as("the field path and the row next to the file")
                .contains("items[0].size").contains("data row 1 (id B-1)");
        browser.screenshot("11-submit-validation-errors");
        check("submit-errors", found);

        browser.open(root + "#/key");
        browser.waitForElement("#api-key", PAGE);
        browser.screenshot("12-key-prompt");
        check("key-prompt", found);

        assertThat(found).as("serious or critical axe-core violations per page").isEmpty();
        assertThat(browser.consoleErrors()).as("errors in the browser console").isEmpty();
    }

    @Test
    void worksWithTheKeyboardAloneAndFocusIsAlwaysVisible() {
        browser.open(root + "#/batches");
        browser.driver.navigate().refresh();
        browser.waitForElement("tr[data-batch-id]", PAGE);

        // Tab order: skip link, brand, the two sections, then the page's own controls.
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            new Actions(browser.driver).sendKeys(Keys.TAB).perform();
            order.add(describeFocus());
        }
        assertThat(order.subList(0, 4)).containsExactly("a:Skip to content", "a:Kiln", "a:Batches", "a:Submit");
        assertThat(order.subList(4, 7)).containsExactly("select:All states", "a:Submit a catalogue", "a:" + batchId);

        // Tab to the batch, open it with Enter, then Tab to the first image and open it.
        tabUntil(batchId, 20);
        new Actions(browser.driver).sendKeys(Keys.ENTER).perform();
        browser.waitForElement("[data-testid=gallery] img", PAGE);
        assertThat(describeFocus()).as("focus moves to the new page's heading").startsWith("h1:Batch");
        String retry = tabUntil("Retry MUG-3", 30);
        assertThat(retry).isEqualTo("button:Retry MUG-3");
        String tile = tabUntil("MUG-1", 30);
        assertThat(tile).startsWith("button:MUG-1");
        WebElement tileElement = browser.driver.switchTo().activeElement();
        new Actions(browser.driver).sendKeys(Keys.ENTER).perform();
        browser.waitForElement("#image-dialog[open]", PAGE);
        assertThat(describeFocus()).isEqualTo("button:Close");
        new Actions(browser.driver).sendKeys(Keys.ESCAPE).perform();
        browser.waitFor(PAGE, d -> d.findElements(By.cssSelector("#image-dialog[open]")).isEmpty());
        assertThat(browser.driver.switchTo().activeElement()).as("focus returns to the tile").isEqualTo(tileElement);
    }

    @Test
    void everyTextColourPairOfTheStyleSheetIsAtLeastFourAndAHalfToOne() throws IOException {
        String css;
        try (InputStream in = getClass().getResourceAsStream("/META-INF/resources/console/console.css")) {
            css = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, String> vars = new LinkedHashMap<>();
        Matcher m = Pattern.compile("--([a-z-]+):\\s*(#[0-9a-fA-F]{6})").matcher(css);
        while (m.find()) {
            vars.put(m.group(1), m.group(2));
        }
        List<String[]> pairs = new ArrayList<>(List.of(
                new String[] {"text", "bg"}, new String[] {"text", "surface"}, new String[] {"muted", "bg"},
                new String[] {"muted", "surface"}, new String[] {"link", "bg"}, new String[] {"link", "surface"},
                new String[] {"brand", "surface"}, new String[] {"danger", "bg"}, new String[] {"bad-fg", "bad-bg"},
                new String[] {"run-fg", "run-bg"}));
        for (String state : List.of("ok", "bad", "run", "wait", "off", "late")) {
            pairs.add(new String[] {state + "-fg", state + "-bg"});
        }
        for (String[] pair : pairs) {
            assertThat(vars).containsKeys(pair[0], pair[1]);
            double ratio = contrast(vars.get(pair[0]), vars.get(pair[1]));
            assertThat(ratio).as("--%s on --%s", pair[0], pair[1]).isGreaterThanOrEqualTo(4.5);
        }
        // White text on the primary button.
        assertThat(contrast("#ffffff", vars.get("primary"))).isGreaterThanOrEqualTo(4.5);
        assertThat(contrast("#ffffff", vars.get("primary-hover"))).isGreaterThanOrEqualTo(4.5);
        // Focus rings and bar segments are not text: 3:1 against what surrounds them (WCAG 1.4.11).
        for (String ui : List.of("focus", "ok-bar", "bad-bar", "run-bar", "off-bar", "late-bar")) {
            assertThat(contrast(vars.get(ui), vars.get("bg"))).as("--%s on --bg", ui).isGreaterThanOrEqualTo(3.0);
        }
    }

    private void check(String page, Map<String, List<String>> found) throws IOException {
        Results results = new AxeBuilder().withTags(List.of("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"))
                .analyze(browser.driver);
        Files.createDirectories(Browser.SCREENSHOTS);
        List<String> report = new ArrayList<>();
        List<String> blocking = new ArrayList<>();
        for (Rule rule : results.getViolations()) {
            String line = rule.getImpact() + " " + rule.getId() + ": " + rule.getHelp() + " at "
                    + rule.getNodes().stream().map(n -> String.valueOf(n.getTarget())).toList();
            report.add(line);
            if (BLOCKING.contains(rule.getImpact())) {
                blocking.add(line);
            }
        }
        report.add(results.getPasses().size() + " rules passed");
        Files.write(Browser.SCREENSHOTS.resolve("axe-" + page + ".txt"), report);
        if (!blocking.isEmpty()) {
            found.put(page, blocking);
        }
    }

    private String describeFocus() {
        return (String) browser.js("""
                const e = document.activeElement;
                const s = getComputedStyle(e);
                const visible = e === document.body || e.tagName === 'H1' || e.tagName === 'MAIN'
                    || (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2);
                const name = (e.getAttribute('aria-label') && e.tagName !== 'A' ? e.getAttribute('aria-label')
                    : e.tagName === 'SELECT' ? e.options[e.selectedIndex].text
                    : e.tagName === 'BUTTON' && e.querySelector('img') ? e.querySelector('img').alt
                    : e.textContent).trim().replace(/\\s+/g, ' ');
                return (visible ? '' : 'INVISIBLE FOCUS ') + e.tagName.toLowerCase() + ':' + name;""");
    }

    private String tabUntil(String name, int max) {
        for (int i = 0; i < max; i++) {
            new Actions(browser.driver).sendKeys(Keys.TAB).perform();
            String focused = describeFocus();
            assertThat(focused).doesNotStartWith("INVISIBLE");
            if (focused.endsWith(":" + name) || focused.contains(":" + name + ":")) {
                return focused;
            }
        }
        throw new AssertionError("no " + name + " within " + max + " Tab presses");
    }

    private static double contrast(String a, String b) {
        double la = luminance(a);
        double lb = luminance(b);
        return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
    }

    private static double luminance(String hex) {
        double[] c = new double[3];
        for (int i = 0; i < 3; i++) {
            double v = Integer.parseInt(hex.substring(1 + 2 * i, 3 + 2 * i), 16) / 255.0;
            c[i] = v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        }
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    }
}
