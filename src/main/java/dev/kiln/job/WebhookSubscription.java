package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.List;

/**
 * A batch's {@code webhook}: where to call and which events to send there. A client writes it as
 * a URL string ({@code batch.completed} only) or as {@code {"url", "events"}}; it travels on
 * {@code kiln.batch.created} in the same two forms, the string whenever no events were named, so
 * that a batch without them looks on the topic as it always has.
 *
 * @param url    the receiver's URL
 * @param events the webhook events asked for ({@link #EVENTS}); null means {@code batch.completed} alone
 */
public record WebhookSubscription(String url, List<String> events) {

    /** A batch ended, in any final state: what a webhook gets when it names no events. */
    public static final String BATCH_COMPLETED = "batch.completed";
    /** A job succeeded. */
    public static final String JOB_SUCCEEDED = "job.succeeded";
    /** A job failed for good. */
    public static final String JOB_FAILED = "job.failed";
    /** Every event a webhook may ask for, in the order the docs list them. */
    public static final List<String> EVENTS = List.of(BATCH_COMPLETED, JOB_SUCCEEDED, JOB_FAILED);

    /** The object form, {@code {"url", "events"?}}. */
    @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
    public WebhookSubscription(@JsonProperty("url") String url, @JsonProperty("events") List<String> events) {
        this.url = url;
        this.events = events == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(events));
    }

    /** The string form: {@code batch.completed} only. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static WebhookSubscription of(String url) {
        return new WebhookSubscription(url, null);
    }

    /** The string form when no events were named, else the object form. */
    @JsonValue
    Object wire() {
        return events == null ? url : new ObjectForm(url, events);
    }

    /** The object form as written. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    private record ObjectForm(String url, List<String> events) {
    }
}
