package dev.kiln.console;

import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The web console in headless Chromium against the real stack (Kafka broker, S3 server,
 * simulator): submit a CSV catalogue after its dry run, watch it reach 100 %, browse its gallery,
 * cancel a second batch, retry a failed item, and look at it all at phone width. Screenshots go
 * to target/console-screenshots/.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {

    private static final Duration PAGE = Duration.ofSeconds(15);
    private static final Duration BATCH = Duration.ofSeconds(90);
    /** How long the retried item's render takes in the retry test. */
    private static final Duration RETRIED_RENDER = Duration.ofSeconds(4);
    /** How long the page waits for each answer to GET /v1/batches/{id} in the retry test. */
    private static final Duration SLOW_BATCH_READ = Duration.ofMillis(500);

    private static Browser browser;
    /** The batch submitted through the page by the first test, browsed by the next ones. */
    private static String submittedBatch;

    @TestHTTPResource("/")
    URL root;

    @BeforeEach
    void openBrowser() {
        if (browser == null) {
            browser = Browser.start();
        }
        browser.viewport(0, 0);
    }

    @AfterEach
    void noErrorsInTheBrowserConsole() {
        if (browser != null) {
            assertThat(browser.consoleErrors()).as("errors in the browser console").isEmpty();
        }
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.close();
            browser = null;
        }
    }

    @Test
    @Order(1)
    void submitsACsvCatalogueAfterItsDryRunEstimate() throws Exception {
        Path csv = Files.createTempFile("console-catalogue-", ".csv");
        Files.writeString(csv, """
                id,prompt,size,quality,output_format,metadata.colour
                SKU-RED,"A red enamel mug, studio light, white background",1024x1024,low,png,red
                SKU-BLUE,"A blue ""speckled"" mug on oak",1024x1024,low,png,blue
                SKU-TALL,A terracotta vase,1024x1536,low,jpeg,terracotta
                """);
        browser.open(root + "#/submit");
        browser.waitForElement("#catalogue-file", PAGE).sendKeys(csv.toAbsolutePath().toString());

        WebElement images = browser.waitForElement("[data-testid=estimate-images] dd", PAGE);
        assertThat(images.getText()).isEqualTo("3");
        assertThat(browser.find("[data-testid=estimate-cost] dd").getText()).startsWith("$");
        assertThat(browser.find("[data-testid=file-summary]").getText()).contains("CSV, 3 items");
        assertThat(browser.find("#estimate table").getText()).contains("1024x1536");
        browser.screenshot("01-submit-estimate");

        browser.find("#confirm-submit").click();
        browser.waitFor(PAGE, d -> d.getCurrentUrl().contains("#/batches/b_"));
        submittedBatch = browser.driver.getCurrentUrl().replaceAll(".*#/batches/", "");
        // The page converted the CSV: ids, quoted prompts and parameters arrived as sent.
        assertThat(given().get("/v1/batches/" + submittedBatch).jsonPath().getInt("items")).isEqualTo(3);
        assertThat(given().get("/v1/batches/" + submittedBatch + "/items").jsonPath().getList("items.item_id", String.class))
                .containsExactly("SKU-RED", "SKU-BLUE", "SKU-TALL");
    }

    @Test
    @Order(2)
    void theProgressBarReachesOneHundredPercent() {
        requireSubmitted();
        browser.open(root + "#/batches/" + submittedBatch);
        browser.waitFor(BATCH, d -> "100".equals(d.findElement(By.cssSelector("main [role=progressbar]")).getAttribute("aria-valuenow"))
                && !d.findElements(By.cssSelector("main .badge[data-state=succeeded]")).isEmpty());
        assertThat(browser.find("[data-testid=count-succeeded] dd").getText()).isEqualTo("3");
        assertThat((Long) browser.js("return Math.round(document.querySelector('main [role=progressbar] [data-segment=succeeded]')"
                + ".getBoundingClientRect().width / document.querySelector('main [role=progressbar]').clientWidth * 100)"))
                .as("the succeeded segment fills the bar").isBetween(98L, 100L);
        assertThat(browser.find("#cancel-batch").isDisplayed()).as("no cancel button on an ended batch").isFalse();
        assertThat(browser.find("#retry-batch").isDisplayed()).as("nothing to retry").isFalse();
        assertThat(browser.find("[data-testid=cost] dd").getText()).matches("\\$\\d+\\.\\d+");
        browser.screenshot("02-batch-succeeded");

        browser.open(root + "#/batches");
        WebElement row = browser.waitForElement("tr[data-batch-id='" + submittedBatch + "']", PAGE);
        assertThat(row.findElement(By.cssSelector("[role=progressbar]")).getAttribute("aria-valuenow")).isEqualTo("100");
        assertThat(row.getText()).contains("succeeded");
        browser.screenshot("03-batches");
    }

    @Test
    @Order(3)
    void theGalleryShowsEveryImageAndOpensOneWithItsMetadata() throws Exception {
        requireSubmitted();
        browser.open(root + "#/batches/" + submittedBatch);
        browser.waitFor(BATCH, d -> Long.valueOf(3).equals(((org.openqa.selenium.JavascriptExecutor) d).executeScript(
                "return [...document.querySelectorAll('[data-testid=gallery] img')].filter(i => i.complete && i.naturalWidth > 0).length")));
        List<WebElement> images = browser.driver.findElements(By.cssSelector("[data-testid=gallery] img"));
        assertThat(images).hasSize(3);
        for (WebElement img : images) {
            assertThat(img.getAttribute("loading")).isEqualTo("lazy");
            assertThat(img.getAttribute("alt")).startsWith("SKU-");
        }

        // The grid shows the thumbnails Kiln stored beside the outputs: 256 px, much smaller than the originals.
        HttpClient http = HttpClient.newHttpClient();
        for (WebElement img : images) {
            assertThat(img.getAttribute("data-thumbnail")).as("the tile shows a thumbnail that loaded").isEqualTo("true");
            String shown = img.getAttribute("src");
            String full = img.getAttribute("data-full");
            String fullPath = URI.create(full).getPath();
            assertThat(URI.create(shown).getPath()).as("the thumbnail's key, beside the output's")
                    .isEqualTo(fullPath.replaceFirst("\\.(png|jpeg|webp)$", ".thumb.$1"));
            HttpResponse<byte[]> thumbnail = http.send(HttpRequest.newBuilder(URI.create(shown)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(thumbnail.statusCode()).isEqualTo(200);
            long shownBytes = thumbnail.body().length;
            long fullBytes = http.send(HttpRequest.newBuilder(URI.create(full)).build(), HttpResponse.BodyHandlers.ofByteArray()).body().length;
            assertThat((Long) browser.js("return Math.max(arguments[0].naturalWidth, arguments[0].naturalHeight)", img))
                    .as("the thumbnail's long edge").isEqualTo(256L);
            assertThat(shownBytes * 4).as("thumbnail bytes x 4 against the original's").isLessThan(fullBytes);
        }
        browser.screenshot("04-gallery");

        // A click opens the full image with its metadata; Escape closes it and focus returns to the tile.
        String sha256 = given().get("/v1/batches/" + submittedBatch + "/items").jsonPath().getString("items[0].outputs[0].sha256");
        WebElement firstTile = browser.find("[data-testid=gallery] li[data-item-id=SKU-RED] button.tile");
        firstTile.click();
        WebElement dialog = browser.waitForElement("#image-dialog[open]", PAGE);
        browser.waitFor(PAGE, d -> (Boolean) browser.js("const i = document.querySelector('#image-dialog img'); return i.complete && i.naturalWidth === 1024"));
        assertThat(dialog.getText()).contains("SKU-RED").contains(sha256).contains("1024 × 1024").contains("Cost").contains("Cached");
        browser.screenshot("05-image-dialog");
        browser.driver.switchTo().activeElement().sendKeys(Keys.ESCAPE);
        browser.waitFor(PAGE, d -> d.findElements(By.cssSelector("#image-dialog[open]")).isEmpty());
        assertThat((Boolean) browser.js("return document.activeElement === arguments[0]", firstTile)).as("focus back on the tile").isTrue();

        assertOnlyKilnAndTheBucketWereCalled();
    }

    @Test
    @Order(4)
    void cancelsASecondBatch() {
        SimulatorSettings before = KilnStackResource.simulator().settings();
        // Slow renders, and more items than a worker runs at once, so that some are still queued.
        KilnStackResource.simulator().update(before.withSetting("SIMULATOR_LATENCY_LOW_MS", "2500"));
        try {
            String id = submit(40, i -> "A plain white mug, angle " + i);
            browser.open(root + "#/batches/" + id);
            browser.waitForElement("#cancel-batch", PAGE).click();
            WebElement message = browser.waitForElement("#action-message .notice", PAGE);
            if (message.getText().contains("does not offer")) {
                browser.screenshot("06-cancel-not-offered");
                Assumptions.abort("POST /v1/batches/{id}/cancel is not built yet (the page says: " + message.getText()
                        + "); the cancel test runs once it lands");
            }
            assertThat(message.getAttribute("data-kind")).as(message.getText()).isEqualTo("ok");
            browser.waitFor(BATCH, d -> !d.findElements(By.cssSelector("main .badge[data-state=cancelled]")).isEmpty());
            assertThat(given().get("/v1/batches/" + id).jsonPath().getString("state")).isEqualTo("cancelled");
            assertThat(browser.find("#cancel-batch").isDisplayed()).isFalse();
            browser.screenshot("06-cancelled");
        } finally {
            KilnStackResource.simulator().update(before);
        }
    }

    @Test
    @Order(5)
    void retriesAFailedItem() {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String refused = "A FORBIDDEN mug " + run;
        String id = submit(2, i -> i == 0 ? refused : "A green mug " + run);
        await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() ->
                "partially_failed".equals(given().get("/v1/batches/" + id).jsonPath().getString("state")));
        browser.open(root + "#/batches/" + id);
        WebElement failed = browser.waitForElement("[data-testid=failures] li[data-item-id=ITEM-0]", PAGE);
        assertThat(failed.getText()).contains("moderation_blocked").contains("attempt 1");
        browser.screenshot("07-failed-item");

        SimulatorSettings before = KilnStackResource.simulator().settings();
        // The provider now lets the prompt through, so the retried item can succeed; and it takes
        // a few seconds, as on a loaded machine, so that the page sees the batch running again
        // (reopened after its final event) before it ends a second time.
        KilnStackResource.simulator().update(before.withSetting("SIMULATOR_MODERATION_MARKER", "NEVER-" + UUID.randomUUID())
                .withSetting("SIMULATOR_LATENCY_LOW_MS", Long.toString(RETRIED_RENDER.toMillis())));
        // Kiln answers the page's reads of the batch slowly, as on a loaded machine: a read still
        // under way when the batch's event stream ends must not stop the page following it.
        browser.js("""
                const delay = arguments[0];
                const original = window.fetch.bind(window);
                window.fetch = async (input, init) => {
                  const answer = await original(input, init);
                  const path = new URL(String(input instanceof Request ? input.url : input), location.href).pathname;
                  if (/^\\/v1\\/batches\\/[^/]+$/.test(path) && (!init || !init.method || init.method === 'GET')) {
                    await new Promise(r => setTimeout(r, delay));
                  }
                  return answer;
                };""", SLOW_BATCH_READ.toMillis());
        try {
            failed.findElement(By.cssSelector("button")).click();
            WebElement message = browser.waitForElement("#action-message .notice", PAGE);
            if (message.getText().contains("does not offer")) {
                browser.screenshot("08-retry-not-offered");
                Assumptions.abort("POST /v1/jobs/{id}/retry is not built yet (the page says: " + message.getText()
                        + "); the retry test runs once it lands");
            }
            assertThat(message.getAttribute("data-kind")).as(message.getText()).isEqualTo("ok");
            await().atMost(BATCH).pollInterval(Duration.ofMillis(300)).until(() ->
                    "succeeded".equals(given().get("/v1/batches/" + id).jsonPath().getString("state")));
            assertThat(given().get("/v1/jobs/" + id + "-000000").jsonPath().getInt("attempt")).isGreaterThanOrEqualTo(2);
            assertThat(KilnStackResource.simulator().received().stream().filter(r -> refused.equals(r.prompt())).count())
                    .as("calls for the refused prompt: the refusal and the retry").isEqualTo(2);
            // The page follows the batch through its second run to its new end, without a reload.
            browser.waitFor(PAGE, d -> d.findElements(By.cssSelector("[data-testid=gallery] li[data-item-id=ITEM-0] img")).size() == 1
                    && !d.findElements(By.cssSelector("main .badge[data-state=succeeded]")).isEmpty());
            assertThat(browser.driver.findElements(By.cssSelector("[data-testid=failures] li[data-item-id=ITEM-0]"))).isEmpty();
            browser.screenshot("08-retried");
        } finally {
            KilnStackResource.simulator().update(before);
        }
    }

    @Test
    @Order(6)
    void isUsableAtPhoneWidth() {
        requireSubmitted();
        browser.viewport(375, 812);
        for (String page : List.of("#/batches", "#/batches/" + submittedBatch, "#/submit")) {
            browser.open(root + page);
            browser.waitForElement("main h1", PAGE);
            if (page.startsWith("#/batches/")) {
                browser.waitFor(PAGE, d -> !d.findElements(By.cssSelector("[data-testid=gallery] img")).isEmpty());
            } else if (page.equals("#/batches")) {
                browser.waitForElement("tr[data-batch-id]", PAGE);
            }
            Long overflow = (Long) browser.js("return document.documentElement.scrollWidth - window.innerWidth");
            assertThat(overflow).as("horizontal overflow at 375 px on " + page).isLessThanOrEqualTo(0);
        }
        browser.open(root + "#/batches/" + submittedBatch);
        browser.waitFor(PAGE, d -> !d.findElements(By.cssSelector("[data-testid=gallery] img")).isEmpty());
        browser.screenshot("09-phone-batch");
        browser.open(root + "#/batches");
        browser.waitForElement("tr[data-batch-id]", PAGE);
        browser.screenshot("10-phone-batches");
    }

    /** Every script, style and API call went to Kiln; images came from Kiln or the bucket's presigned URLs. */
    private void assertOnlyKilnAndTheBucketWereCalled() {
        String bucketHost = URI.create(given().get("/v1/batches/" + submittedBatch + "/items")
                .jsonPath().getString("items[0].outputs[0].url")).getAuthority();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> entries = (List<Map<String, Object>>) browser.js(
                "return performance.getEntriesByType('resource').map(e => ({name: e.name, type: e.initiatorType}))");
        String kiln = URI.create(root.toString()).getAuthority();
        assertThat(entries).isNotEmpty();
        for (Map<String, Object> entry : entries) {
            String authority = URI.create((String) entry.get("name")).getAuthority();
            if ("img".equals(entry.get("type"))) {
                assertThat(authority).as(entry.toString()).isIn(kiln, bucketHost);
            } else {
                assertThat(authority).as(entry.toString()).isEqualTo(kiln);
            }
        }
    }

    private static void requireSubmitted() {
        Assumptions.assumeTrue(submittedBatch != null, "the batch submitted through the page by the first test");
    }

    private static String submit(int items, java.util.function.IntFunction<String> prompt) {
        String body = IntStream.range(0, items)
                .mapToObj(i -> "{\"id\":\"ITEM-" + i + "\",\"prompt\":\"" + prompt.apply(i) + "\"}")
                .collect(Collectors.joining(",", "{\"defaults\":{\"size\":\"1024x1024\",\"quality\":\"low\"},\"items\":[", "]}"));
        return given().contentType(ContentType.JSON).body(body).post("/v1/batches")
                .then().statusCode(202).extract().path("id");
    }
}
