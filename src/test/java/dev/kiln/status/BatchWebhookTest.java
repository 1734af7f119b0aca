package dev.kiln.status;

import dev.kiln.job.WebhookDeliveryLog;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code webhook} part of a batch's GET: no part without a webhook, no query string, and a loading log said so. */
class BatchWebhookTest {

    private static final WebhookDeliveryLog.Delivery DELIVERY = new WebhookDeliveryLog.Delivery("msg_1", "batch.completed",
            "pending", List.of(new WebhookDeliveryLog.Attempt(1, Instant.EPOCH, 40, 500, null)),
            Instant.EPOCH.plusSeconds(5), Instant.EPOCH, Instant.EPOCH);

    @Test
    void aBatchWithoutWebhookHasNoPart() {
        assertThat(BatchWebhook.of(null, Optional.empty())).isNull();
    }

    @Test
    void theUrlLosesItsQueryStringAndUserInfoButKeepsItsPathAndPort() {
        BatchWebhook part = BatchWebhook.of("https://hook:pw@shop.example.com:8443/hooks/kiln?token=s3cr3t#frag",
                Optional.of(new WebhookDeliveryLog.Deliveries(List.of(DELIVERY), 1)));
        assertThat(part.url()).isEqualTo("https://shop.example.com:8443/hooks/kiln");
        assertThat(part.deliveriesTotal()).isEqualTo(1);
        assertThat(part.deliveries()).containsExactly(DELIVERY);
        assertThat(part.deliveryLog()).isNull();
    }

    @Test
    void aLogThatCannotBeReadIsSaidToBeUnavailableRatherThanShownEmpty() {
        BatchWebhook part = BatchWebhook.of("http://127.0.0.1:9/hook?x=1", Optional.empty());
        assertThat(part.url()).isEqualTo("http://127.0.0.1:9/hook");
        assertThat(part.deliveries()).isNull();
        assertThat(part.deliveriesTotal()).isNull();
        assertThat(part.deliveryLog()).isEqualTo("unavailable");
    }
}
