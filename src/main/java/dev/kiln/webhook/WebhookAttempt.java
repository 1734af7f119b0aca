package dev.kiln.webhook;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;

/**
 * One attempt of a delivery, as the delivery log shows it.
 *
 * @param number     1 for the first attempt
 * @param at         when the request started
 * @param durationMs how long until the answer, the timeout or the error
 * @param httpStatus the receiver's status code, when it answered
 * @param error      why there was no usable answer (timeout, refused address, connection error), never a secret
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WebhookAttempt(int number, Instant at, long durationMs, Integer httpStatus, String error) {

    /** Whether the receiver took it: a 2xx. Anything else, a redirect too, is a failure. */
    public boolean succeeded() {
        return httpStatus != null && httpStatus >= 200 && httpStatus < 300;
    }
}
