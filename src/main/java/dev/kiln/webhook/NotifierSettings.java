package dev.kiln.webhook;

import java.time.Duration;
import java.util.Optional;

/**
 * What the notifier's topology needs from {@link WebhookConfig}, as plain values so that tests build
 * it without CDI.
 *
 * @param schedule      delays before each attempt
 * @param lease         how long an attempt in flight may go without an outcome: the attempt timeout plus the outcome grace
 * @param tick          how often due deliveries are looked for
 * @param publicBaseUrl the api's address for URLs in payloads, if known
 */
record NotifierSettings(RetrySchedule schedule, Duration lease, Duration tick, Optional<String> publicBaseUrl) {

    static NotifierSettings of(WebhookConfig config) {
        return new NotifierSettings(new RetrySchedule(config.retrySchedule()),
                config.attemptTimeout().plus(config.outcomeGrace()), config.tick(), config.publicBaseUrl());
    }
}
