package dev.kiln.console;

import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.ExpectedCondition;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.logging.Level;
import java.util.Map;

/**
 * Debian's headless Chromium driven through Debian's chromedriver, never a downloaded one: the
 * driver's path is given, so Selenium Manager is not asked. Without the two binaries the browser
 * tests are skipped on a developer's machine and fail on CI, whose {@code .ci/run} installs them.
 */
final class Browser implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

    final ChromeDriver driver;

    private Browser(ChromeDriver driver) {
        this.driver = driver;
    }

    static Browser start() {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present && !"true".equals(System.getenv("CI"))) {
            Assumptions.abort("Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver; .ci/run does it)");
        }
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-GB",
                "--disable-component-update", "--no-first-run", "--disable-sync");
        options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        return new Browser(new ChromeDriver(service, options));
    }

    void open(String url) {
        driver.get(url);
    }

    WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    <T> T waitFor(Duration timeout, ExpectedCondition<T> condition) {
        // Live pages re-render while they are read: an element gone stale is simply looked up again.
        return new WebDriverWait(driver, timeout, Duration.ofMillis(200))
                .ignoring(StaleElementReferenceException.class).until(condition);
    }

    WebElement waitForElement(String css, Duration timeout) {
        return waitFor(timeout, d -> {
            var found = d.findElements(By.cssSelector(css));
            return found.isEmpty() || !found.getFirst().isDisplayed() ? null : found.getFirst();
        });
    }

    Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    Object jsAsync(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeAsyncScript(script, args);
    }

    /** Emulates a phone screen (CSS pixels), or the desktop again with {@code width <= 0}. */
    void viewport(int width, int height) {
        if (width <= 0) {
            driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
            return;
        }
        driver.executeCdpCommand("Emulation.setDeviceMetricsOverride",
                Map.of("width", width, "height", height, "deviceScaleFactor", 2, "mobile", true));
    }

    /** Where the README's screenshots live; refreshed by the browser tests when asked (see {@link #screenshot}). */
    static final Path DOCS_IMAGES = Path.of("docs", "images");

    /** The screenshots the README shows, by their test names. */
    static final List<String> README_SHOTS = List.of("01-submit-estimate", "02-batch-succeeded", "04-gallery",
            "05-image-dialog", "06-cancelled", "09-phone-batch");

    /**
     * A screenshot of the whole page, not only the viewport, under target/console-screenshots/.
     * With {@code -Ddocs.screenshots=true}, the README's shots are also copied to
     * {@code docs/images/console-<name>.png}, so that the pictures in the README come from a test run.
     */
    Path screenshot(String name) {
        Path file = capture(name);
        if (Boolean.getBoolean("docs.screenshots") && README_SHOTS.contains(name)) {
            try {
                Files.createDirectories(DOCS_IMAGES);
                Files.copy(file, DOCS_IMAGES.resolve("console-" + name + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return file;
    }

    private Path capture(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            @SuppressWarnings("unchecked")
            Map<String, Object> shot = (Map<String, Object>) driver.executeCdpCommand("Page.captureScreenshot",
                    Map.of("format", "png", "captureBeyondViewport", true));
            Path file = SCREENSHOTS.resolve(name + ".png");
            Files.write(file, Base64.getDecoder().decode((String) shot.get("data")));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            // A CDP hiccup should not fail a test: fall back to the viewport.
            Path file = SCREENSHOTS.resolve(name + ".png");
            try {
                Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
            } catch (IOException io) {
                throw new UncheckedIOException(io);
            }
            return file;
        }
    }

    /**
     * The browser console's errors since the last call, less the lines Chromium writes for every
     * 4xx answer: the console probes endpoints that may not be built yet (404/405) on purpose.
     */
    List<String> consoleErrors() {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(entry -> entry.getLevel().intValue() >= Level.SEVERE.intValue())
                .map(LogEntry::getMessage)
                .filter(message -> !message.contains("Failed to load resource: the server responded with a status of 4"))
                .toList();
    }

    WebDriver driver() {
        return driver;
    }

    @Override
    public void close() {
        driver.quit();
    }
}
