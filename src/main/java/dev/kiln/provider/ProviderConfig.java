package dev.kiln.provider;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** The OpenAI Images API (or anything on its wire format, such as Kiln's simulator). */
@ConfigMapping(prefix = "kiln.provider")
public interface ProviderConfig {

    /** The API base URL, e.g. {@code https://api.openai.com/v1} (env {@code OPENAI_BASE_URL}). */
    Optional<String> baseUrl();

    /** The API key (env {@code OPENAI_API_KEY}); sent only as a bearer token, never logged. */
    Optional<String> apiKey();

    /**
     * The base URL used when neither {@link #baseUrl()} nor {@link #apiKey()} is set. Production
     * leaves it at OpenAI; the local run points it at the simulator.
     */
    @WithDefault("https://api.openai.com/v1")
    String fallbackBaseUrl();

    /** The key sent to the fallback URL when no key is set; the simulator accepts any key. */
    @WithDefault("sk-kiln-local")
    String fallbackApiKey();

    /** How long to wait for a TCP connection. */
    @WithDefault("PT10S")
    Duration connectTimeout();

    /**
     * The longest one call may take, by quality. A high-quality 3840x2160 render can take about
     * four minutes, so the defaults leave room above the provider's slowest answers.
     */
    Timeouts timeouts();

    /** Per-quality call timeouts. */
    interface Timeouts {
        /** Timeout of a {@code low} quality call. */
        @WithDefault("PT90S")
        Duration low();

        /** Timeout of a {@code medium} quality call. */
        @WithDefault("PT180S")
        Duration medium();

        /** Timeout of a {@code high} quality call. */
        @WithDefault("PT360S")
        Duration high();

        /** Timeout of an {@code auto} (or unset) quality call: the provider may pick high. */
        @WithDefault("PT360S")
        Duration auto();
    }

    /** The base URL calls go to, per the rules above. */
    default String effectiveBaseUrl() {
        if (baseUrl().isPresent()) {
            return stripSlash(baseUrl().get());
        }
        return apiKey().isPresent() ? "https://api.openai.com/v1" : stripSlash(fallbackBaseUrl());
    }

    /** The key calls carry. */
    default String effectiveApiKey() {
        return apiKey().orElse(fallbackApiKey());
    }

    /** The timeout of one call at {@code quality}. */
    default Duration timeoutFor(String quality) {
        if (quality == null) {
            return timeouts().auto();
        }
        return switch (quality) {
            case "low" -> timeouts().low();
            case "medium" -> timeouts().medium();
            case "high" -> timeouts().high();
            default -> timeouts().auto();
        };
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
