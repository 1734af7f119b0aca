package dev.kiln.batch;

import dev.kiln.job.Priority;
import dev.kiln.job.WebhookSubscription;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The body of {@code POST /v1/batches}.
 *
 * @param externalId the client's own id for the batch
 * @param defaults   parameters every item inherits
 * @param items      the catalogue items, one job each
 * @param webhook    where to call, and for which events (a URL string: when the batch ends)
 * @param priority   {@code interactive}, {@code normal} (when absent) or {@code bulk}
 * @param deadline   an RFC 3339 time or an ISO-8601 duration from acceptance; items not started by
 *                   then end {@code expired}
 * @param cache      {@code false} opts the batch out of the render cache; absent means true
 * @param budgetUsd  the most the batch may spend, in US dollars; items left when the next job would
 *                   pass it end {@code cancelled} with code {@code budget_exceeded}
 * @param lane       {@code standard} (when absent) or {@code economy}: the OpenAI Batch API, half price, up to 24 h
 */
public record BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, WebhookSubscription webhook,
                           String priority, String deadline,
                           @JsonInclude(JsonInclude.Include.NON_NULL) Boolean cache,
                           @JsonInclude(JsonInclude.Include.NON_NULL) java.math.BigDecimal budgetUsd,
                           @JsonInclude(JsonInclude.Include.NON_NULL) String lane) {

    /** A request of the standard lane. */
    public BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, WebhookSubscription webhook,
                        String priority, String deadline, Boolean cache, java.math.BigDecimal budgetUsd) {
        this(externalId, defaults, items, webhook, priority, deadline, cache, budgetUsd, null);
    }

    /** Whether the batch goes through the economy lane. */
    public boolean economy() {
        return "economy".equals(lane);
    }

    /** A request without a budget. */
    public BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, WebhookSubscription webhook,
                        String priority, String deadline, Boolean cache) {
        this(externalId, defaults, items, webhook, priority, deadline, cache, null, null);
    }

    /** A request without priority and deadline. */
    public BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, WebhookSubscription webhook) {
        this(externalId, defaults, items, webhook, null, null, null, null, null);
    }

    /** A request with priority and deadline, using the render cache. */
    public BatchRequest(String externalId, BatchDefaults defaults, List<BatchItem> items, WebhookSubscription webhook,
                        String priority, String deadline) {
        this(externalId, defaults, items, webhook, priority, deadline, null, null, null);
    }

    /** Whether the batch uses the render cache. */
    public boolean usesCache() {
        return cache == null || cache;
    }

    /** The parsed priority; {@link Priority#NORMAL} when absent. */
    public Priority parsedPriority() {
        return Priority.fromWire(priority);
    }

    /**
     * The deadline as a time, a duration counted from {@code acceptedAt}; empty when none is given.
     *
     * @throws IllegalArgumentException when it is neither an RFC 3339 time nor an ISO-8601 duration
     */
    public Optional<Instant> deadlineAt(Instant acceptedAt) {
        if (deadline == null) {
            return Optional.empty();
        }
        String text = deadline.trim();
        if (text.toUpperCase(Locale.ROOT).startsWith("P")) {
            try {
                Duration after = Duration.parse(text);
                if (after.isNegative() || after.isZero()) {
                    throw new IllegalArgumentException("must be a positive duration");
                }
                return Optional.of(acceptedAt.plus(after));
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("must be an RFC 3339 time (2026-05-01T18:00:00Z) or an ISO-8601 duration (PT2H, P1D)");
            }
        }
        try {
            return Optional.of(OffsetDateTime.parse(text).toInstant());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("must be an RFC 3339 time (2026-05-01T18:00:00Z) or an ISO-8601 duration (PT2H, P1D)");
        }
    }
}
