package dev.kiln.reference;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * Fetches an {@code https://} reference into a file, through {@link UrlGuard} on every hop.
 *
 * <p>OkHttp rather than the JDK client because OkHttp lets the guard be the DNS resolver, so the
 * address connected to is the address vetted (the JDK client resolves on its own). Redirects are
 * followed here, not by the client, so that each target is checked before it is requested. No
 * proxy is used even when the JVM has one configured: a proxy would resolve the host itself and
 * bypass the address check.
 */
@ApplicationScoped
public class UrlFetcher {

    private final ReferenceFetchConfig config;
    private final UrlGuard guard;
    private final OkHttpClient http;

    @Inject
    public UrlFetcher(ReferenceFetchConfig config) {
        this(config, new UrlGuard(config), UnaryOperator.identity());
    }

    /** For tests: {@code customise} may add what a local server needs, such as a trust store. */
    UrlFetcher(ReferenceFetchConfig config, UrlGuard guard, UnaryOperator<OkHttpClient.Builder> customise) {
        this.config = config;
        this.guard = guard;
        long timeoutMillis = config.timeout().toMillis();
        this.http = customise.apply(new OkHttpClient.Builder()
                        .dns(guard)
                        .proxy(Proxy.NO_PROXY)
                        .followRedirects(false)
                        .followSslRedirects(false)
                        .connectTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
                        .readTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
                        .callTimeout(timeoutMillis, TimeUnit.MILLISECONDS))
                .build();
    }

    /**
     * Fetches {@code url} into {@code target}.
     *
     * @throws ReferenceException permanent for a refused, missing, rejected or oversized reference;
     *                            retryable for a timeout, a 5xx, a 408/429 or a broken connection
     */
    public void fetch(String url, Path target) {
        long deadline = System.nanoTime() + config.timeout().toNanos();
        HttpUrl first = guard.check(url);
        HttpUrl current = first;
        for (int hop = 0; ; hop++) {
            long remainingMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (remainingMillis <= 0) {
                throw ReferenceException.transientFault("fetching " + UrlGuard.describe(current)
                        + " took longer than " + config.timeout(), null);
            }
            Call call = http.newCall(new Request.Builder().url(current)
                    .header("Accept", "image/png, image/jpeg, image/webp")
                    .header("User-Agent", "kiln-reference-fetcher")
                    .build());
            // The remaining time, not a fresh timeout per hop: redirects must not extend the budget.
            call.timeout().timeout(remainingMillis, TimeUnit.MILLISECONDS);
            try (Response response = call.execute()) {
                if (response.isRedirect()) {
                    if (hop >= config.maxRedirects()) {
                        throw ReferenceException.permanent(ReferenceException.REFUSED, UrlGuard.describe(first)
                                + " redirects more than " + config.maxRedirects() + " times");
                    }
                    current = guard.check(redirectTarget(current, response));
                    continue;
                }
                if (response.code() == 200) {
                    save(current, response.body(), target);
                    return;
                }
                throw failure(current, response.code());
            } catch (UrlGuard.RefusedAddressException e) {
                throw ReferenceException.permanent(ReferenceException.REFUSED, e.getMessage());
            } catch (InterruptedIOException e) {
                throw ReferenceException.transientFault("fetching " + UrlGuard.describe(current)
                        + " took longer than " + config.timeout(), e);
            } catch (IOException e) {
                throw ReferenceException.transientFault("fetching " + UrlGuard.describe(current) + " failed: "
                        + e.getClass().getSimpleName(), e);
            }
        }
    }

    private static HttpUrl redirectTarget(HttpUrl from, Response response) {
        String location = response.header("Location");
        HttpUrl next = location == null ? null : from.resolve(location);
        if (next == null) {
            throw ReferenceException.permanent(ReferenceException.REFUSED, UrlGuard.describe(from)
                    + " answered HTTP " + response.code() + " without a usable Location");
        }
        return next;
    }

    /** Copies the body, refusing it as soon as it passes the cap, whatever Content-Length said. */
    private void save(HttpUrl url, ResponseBody body, Path target) throws IOException {
        long max = config.maxBytes();
        if (body.contentLength() > max) {
            throw tooLarge(url, body.contentLength() + " bytes");
        }
        try (InputStream in = body.byteStream(); OutputStream out = Files.newOutputStream(target)) {
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = in.read(buffer)) >= 0) {
                total += read;
                if (total > max) {
                    throw tooLarge(url, "more than " + max + " bytes");
                }
                out.write(buffer, 0, read);
            }
        }
    }

    private ReferenceException tooLarge(HttpUrl url, String size) {
        return ReferenceException.permanent(ReferenceException.TOO_LARGE, UrlGuard.describe(url) + " is " + size
                + "; kiln.references.max-bytes allows " + config.maxBytes());
    }

    private static ReferenceException failure(HttpUrl url, int status) {
        String message = UrlGuard.describe(url) + " answered HTTP " + status;
        if (status == 404 || status == 410) {
            return ReferenceException.permanent(ReferenceException.NOT_FOUND, message);
        }
        // Timeouts, throttling and server faults pass; every other answer would repeat itself.
        if (status == 408 || status == 425 || status == 429 || status >= 500) {
            return ReferenceException.transientFault(message, null);
        }
        return ReferenceException.permanent(ReferenceException.REJECTED, message);
    }

    /** Releases pooled connections and the client's threads. */
    @PreDestroy
    void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }
}
