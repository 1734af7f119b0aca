package dev.kiln.status;

import dev.kiln.job.WebhookDeliveryLog;

import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * The {@code webhook} part of {@code GET /v1/batches/{id}}: where the batch's webhook goes and the
 * delivery log, every attempt with its status code or error and the next attempt (Stripe's
 * delivery log). Never the signing secret, nor the body.
 *
 * @param url             the webhook URL without user info, query string and fragment, which may carry a token
 * @param deliveriesTotal how many deliveries the batch has; absent while the log cannot be read
 * @param deliveries      {@code batch.completed} first, then up to {@link #SHOWN} in all
 * @param deliveryLog     {@code unavailable} while this replica's delivery log is loading (try again), else absent
 */
public record BatchWebhook(String url, Integer deliveriesTotal, List<WebhookDeliveryLog.Delivery> deliveries,
                           String deliveryLog) {

    /** At most this many deliveries in a batch's GET, so a batch with job events stays a small answer. */
    static final int SHOWN = 20;

    /** The part for a batch with webhook {@code url}, or null when it has none. */
    static BatchWebhook of(String url, Optional<WebhookDeliveryLog.Deliveries> log) {
        if (url == null) {
            return null;
        }
        return log.map(d -> new BatchWebhook(withoutQuery(url), d.total(), d.deliveries(), null))
                .orElseGet(() -> new BatchWebhook(withoutQuery(url), null, null, "unavailable"));
    }

    private static String withoutQuery(String url) {
        try {
            URI uri = URI.create(url);
            return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), null, null).toString();
        } catch (IllegalArgumentException | java.net.URISyntaxException e) {
            int cut = url.indexOf('?');
            return cut < 0 ? url : url.substring(0, cut);
        }
    }
}
