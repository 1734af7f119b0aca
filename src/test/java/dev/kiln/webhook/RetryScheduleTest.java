package dev.kiln.webhook;

import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryScheduleTest {

    @Test
    void theDefaultIsSvixsScheduleAndLastsMoreThanADay() {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(WebhookConfig.class).build();
        RetrySchedule schedule = new RetrySchedule(config.getConfigMapping(WebhookConfig.class).retrySchedule());

        assertThat(schedule.attempts()).isEqualTo(8);
        assertThat(schedule.delayBefore(0)).contains(Duration.ZERO);
        assertThat(schedule.delayBefore(1)).as("the first retry within about 5 s").contains(Duration.ofSeconds(5));
        assertThat(schedule.delayBefore(7)).contains(Duration.ofHours(10));
        assertThat(schedule.delayBefore(8)).isEmpty();
        assertThat(schedule.span()).isGreaterThan(Duration.ofDays(1))
                .isEqualTo(Duration.ofHours(27).plusMinutes(35).plusSeconds(5));
    }

    @Test
    void aDeliveryWalksTheScheduleAndFailsAfterTheLastAttempt() {
        RetrySchedule schedule = new RetrySchedule(List.of(Duration.ZERO, Duration.ofSeconds(5), Duration.ofMinutes(5)));
        Instant t = Instant.parse("2026-11-21T10:00:00Z");
        WebhookDelivery d = WebhookDelivery.create("msg_1", "b_1", "default", "https://example.com/h", "batch.completed", "{}", t, t);

        d = d.sending(t.plusSeconds(45), t).after(new WebhookAttempt(1, t, 12, 500, null), true, schedule, t.plusSeconds(1));
        assertThat(d.state()).isEqualTo(DeliveryState.PENDING);
        assertThat(d.nextAttemptAt()).isEqualTo(t.plusSeconds(6));

        d = d.sending(t.plusSeconds(60), t.plusSeconds(6)).after(new WebhookAttempt(2, t, 15000, null, "timeout"), true, schedule, t.plusSeconds(21));
        assertThat(d.nextAttemptAt()).isEqualTo(t.plusSeconds(21).plus(Duration.ofMinutes(5)));

        d = d.after(new WebhookAttempt(3, t, 5, 503, null), true, schedule, t.plusSeconds(400));
        assertThat(d.state()).isEqualTo(DeliveryState.FAILED);
        assertThat(d.attempts()).extracting(WebhookAttempt::number).containsExactly(1, 2, 3);

        WebhookDelivery resent = d.resent(schedule, t.plusSeconds(500));
        assertThat(resent.state()).isEqualTo(DeliveryState.PENDING);
        assertThat(resent.nextAttemptAt()).isEqualTo(t.plusSeconds(500));
        assertThat(resent.nextAttemptNumber()).isEqualTo(4);
        assertThat(resent.webhookId()).isEqualTo("msg_1");
    }

    @Test
    void aRefusedUrlFailsAtOnceAndA2xxSucceeds() {
        RetrySchedule schedule = new RetrySchedule(List.of(Duration.ZERO, Duration.ofSeconds(5)));
        Instant t = Instant.parse("2026-11-21T10:00:00Z");
        WebhookDelivery d = WebhookDelivery.create("msg_1", "b_1", "default", "http://example.com/h", "batch.completed", "{}", t, t);
        assertThat(d.after(new WebhookAttempt(1, t, 0, null, "refused"), false, schedule, t).state()).isEqualTo(DeliveryState.FAILED);
        assertThat(d.after(new WebhookAttempt(1, t, 3, 204, null), true, schedule, t).state()).isEqualTo(DeliveryState.SUCCEEDED);
        assertThat(d.after(new WebhookAttempt(1, t, 3, 301, null), true, schedule, t).state()).as("a redirect is not followed").isEqualTo(DeliveryState.PENDING);
    }

    @Test
    void refusesAnEmptyOrNegativeSchedule() {
        assertThatThrownBy(() -> new RetrySchedule(List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetrySchedule(List.of(Duration.ofSeconds(-1)))).isInstanceOf(IllegalArgumentException.class);
    }
}
