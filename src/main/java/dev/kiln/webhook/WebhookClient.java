package dev.kiln.webhook;

import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Makes one attempt of a delivery: a signed POST of its exact payload. Blocking, so it runs on a
 * virtual thread ({@link HttpWebhookSender}), never on the notifier's stream thread.
 *
 * <p>OkHttp because {@link WebhookAddressGuard} can be its DNS resolver, so the address connected
 * to is the address vetted. Redirects are not followed (a 3xx is a failed attempt, as with Svix);
 * no proxy is used, since a proxy would resolve the host itself and bypass the guard.
 */
final class WebhookClient {

    private static final MediaType JSON = MediaType.get("application/json");

    private final WebhookAddressGuard guard;
    private final WebhookSecrets secrets;
    private final Duration timeout;
    private final Clock clock;
    private final OkHttpClient http;

    WebhookClient(WebhookAddressGuard guard, WebhookSecrets secrets, Duration timeout, Clock clock) {
        this.guard = guard;
        this.secrets = secrets;
        this.timeout = timeout;
        this.clock = clock;
        long millis = timeout.toMillis();
        this.http = new OkHttpClient.Builder()
                .dns(guard)
                .proxy(Proxy.NO_PROXY)
                .followRedirects(false)
                .followSslRedirects(false)
                .retryOnConnectionFailure(false)
                // One budget for the whole attempt: connecting, sending and the answer's headers.
                .callTimeout(millis, TimeUnit.MILLISECONDS)
                .connectTimeout(millis, TimeUnit.MILLISECONDS)
                .readTimeout(millis, TimeUnit.MILLISECONDS)
                .writeTimeout(millis, TimeUnit.MILLISECONDS)
                .build();
    }

    /** Attempt {@code number} of {@code delivery}, and what came of it; never throws. */
    WebhookAttempted attempt(WebhookDelivery delivery, int number) {
        Instant start = clock.instant();
        long began = System.nanoTime();
        try {
            HttpUrl url = guard.check(delivery.url());
            List<String> keys = secrets.signingSecrets(delivery.tenant());
            if (keys.isEmpty()) {
                // A secret may be configured later; nothing goes out unsigned.
                return outcome(delivery, number, start, began, null, "tenant " + delivery.tenant()
                        + " has no webhook signing secret", true);
            }
            byte[] body = delivery.payload().getBytes(StandardCharsets.UTF_8);
            long timestamp = start.getEpochSecond();
            Request request = new Request.Builder().url(url)
                    .header("webhook-id", delivery.webhookId())
                    .header("webhook-timestamp", Long.toString(timestamp))
                    .header("webhook-signature", WebhookSigner.sign(delivery.webhookId(), timestamp, body, keys))
                    .header("User-Agent", "kiln-webhooks")
                    .post(RequestBody.create(body, JSON))
                    .build();
            try (Response response = http.newCall(request).execute()) {
                return outcome(delivery, number, start, began, response.code(), null, true);
            }
        } catch (WebhookAddressGuard.RefusedUrlException e) {
            return outcome(delivery, number, start, began, null, e.getMessage(), false);
        } catch (WebhookAddressGuard.RefusedAddressException e) {
            return outcome(delivery, number, start, began, null, e.getMessage(), true);
        } catch (InterruptedIOException e) {
            return outcome(delivery, number, start, began, null, "no answer within " + timeout.toMillis() + " ms", true);
        } catch (IOException e) {
            return outcome(delivery, number, start, began, null, "connection failed: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), true);
        }
    }

    private static WebhookAttempted outcome(WebhookDelivery delivery, int number, Instant start, long began,
                                            Integer status, String error, boolean retryable) {
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
        return new WebhookAttempted(delivery.batchId(), delivery.webhookId(),
                new WebhookAttempt(number, start, millis, status, error), retryable);
    }
}
