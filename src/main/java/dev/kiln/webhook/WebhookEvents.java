package dev.kiln.webhook;

import dev.kiln.job.WebhookSubscription;

import java.util.Set;

/** The names of webhook events, and the CloudEvents types of the records on {@code kiln.webhooks}. */
public final class WebhookEvents {

    /** A batch ended, in any final state: sent by default. */
    public static final String BATCH_COMPLETED = WebhookSubscription.BATCH_COMPLETED;
    /** A job succeeded: sent when the batch's webhook asks for it. */
    public static final String JOB_SUCCEEDED = WebhookSubscription.JOB_SUCCEEDED;
    /** A job failed for good: sent when the batch's webhook asks for it. */
    public static final String JOB_FAILED = WebhookSubscription.JOB_FAILED;
    /** Every event a webhook may ask for. */
    public static final Set<String> ALL = Set.copyOf(WebhookSubscription.EVENTS);
    /** What a webhook gets when it names no events. */
    public static final Set<String> DEFAULT = Set.of(BATCH_COMPLETED);

    /** {@code kiln.webhooks}: a delivery as it stands now, after every change (the delivery log). */
    public static final String DELIVERY = "kiln.webhook.delivery";
    /** {@code kiln.webhooks}: the outcome of one attempt, from the replica that made it. */
    public static final String ATTEMPTED = "kiln.webhook.attempted";
    /** {@code kiln.webhooks}: send a batch's deliveries again, by hand. */
    public static final String RESEND_REQUESTED = "kiln.webhook.resend_requested";

    private WebhookEvents() {
    }
}
