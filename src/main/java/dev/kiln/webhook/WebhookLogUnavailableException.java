package dev.kiln.webhook;

import dev.kiln.job.ServiceUnavailableException;

import java.time.Duration;

/** The delivery log is still loading on this replica (start-up), or webhooks are off here: 503, try again shortly. */
public class WebhookLogUnavailableException extends ServiceUnavailableException {

    public WebhookLogUnavailableException() {
        super("webhook-log-loading", "Webhook delivery log not ready",
                "the webhook delivery log is still loading on this replica; try again shortly", Duration.ofSeconds(2));
    }
}
