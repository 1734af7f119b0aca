package dev.kiln.webhook;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Webhook deliveries: the notifier's Kafka Streams instance, the retry schedule and the HTTP attempts. */
@ConfigMapping(prefix = "kiln.webhooks")
public interface WebhookConfig {

    /** Run the notifier and the delivery log in the api role; off, no batch is ever reported as completed. */
    @WithDefault("true")
    boolean enabled();

    /**
     * Kafka Streams application id of the notifier. Every api replica shares it: each partition of
     * {@code kiln.status} (and so each batch) is owned by exactly one replica, which is the only
     * one that sends that batch's webhooks.
     */
    @WithDefault("kiln-notifier")
    String applicationId();

    /** Kafka Streams application id of the delivery log, a global store every api replica keeps in full. */
    @WithDefault("kiln-webhook-log")
    String logApplicationId();

    /** Local folder of the notifier's and the log's RocksDB stores; kept across restarts so only new records are replayed. */
    @WithDefault("${java.io.tmpdir}/kiln-webhooks")
    String stateDir();

    /**
     * Delay before each attempt of a delivery, the first counted from the batch's completion, each
     * later one from the failure before it. Svix's schedule by default: 8 attempts over about 27
     * hours, so a receiver down for a day still gets the event. Tests shorten it.
     */
    @WithDefault("PT0S,PT5S,PT5M,PT30M,PT2H,PT5H,PT10H,PT10H")
    List<Duration> retrySchedule();

    /**
     * The longest one attempt may take, connection and answer included. Svix allows 15 s; a receiver
     * should answer at once and work later.
     */
    @WithDefault("PT15S")
    Duration attemptTimeout();

    /**
     * How long after an attempt's timeout its outcome may still arrive on {@code kiln.webhooks}. An
     * attempt with no outcome by then (its replica died, or the batch moved to another replica) is
     * recorded as lost and the delivery is retried.
     */
    @WithDefault("PT30S")
    Duration outcomeGrace();

    /** How often the owner of a partition looks for deliveries that are due. */
    @WithDefault("PT0.25S")
    Duration tick();

    /** Attempts in flight at once per api replica; more due deliveries wait for the next tick. */
    @WithDefault("64")
    int maxInFlight();

    /**
     * Whether webhook URLs may use http and reach loopback, private and other internal addresses
     * (env {@code KILN_ALLOW_PRIVATE_ADDRESSES}). Local runs and tests only: in production a batch
     * could otherwise make Kiln call into its own network.
     */
    @WithDefault("false")
    boolean allowPrivateAddresses();

    /**
     * The address clients reach the api at, such as {@code https://kiln.example.com}. When set, the
     * {@code batch.completed} payload carries the batch's and the manifest's absolute URLs.
     */
    Optional<String> publicBaseUrl();
}
