package dev.kiln.webhook;

/** The delivery log is still loading on this replica (start-up); the caller may try again shortly (503). */
public class WebhookLogUnavailableException extends RuntimeException {

    public WebhookLogUnavailableException() {
        super("the webhook delivery log is still loading; try again shortly");
    }
}
