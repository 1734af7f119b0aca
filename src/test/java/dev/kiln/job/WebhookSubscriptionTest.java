package dev.kiln.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.kiln.messaging.KilnJson;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A batch's webhook on the wire: a URL string or {@code {"url", "events"}}, in requests and on {@code kiln.batch.created}. */
class WebhookSubscriptionTest {

    @Test
    void aUrlStringStaysAString() throws Exception {
        WebhookSubscription webhook = KilnJson.MAPPER.readValue("\"https://e.com/h\"", WebhookSubscription.class);
        assertThat(webhook).isEqualTo(new WebhookSubscription("https://e.com/h", null));
        assertThat(KilnJson.MAPPER.writeValueAsString(webhook)).isEqualTo("\"https://e.com/h\"");
    }

    @Test
    void anObjectWithEventsStaysAnObject() throws Exception {
        WebhookSubscription webhook = KilnJson.MAPPER.readValue(
                "{\"url\":\"https://e.com/h\",\"events\":[\"job.failed\"]}", WebhookSubscription.class);
        assertThat(webhook).isEqualTo(new WebhookSubscription("https://e.com/h", List.of("job.failed")));
        assertThat(KilnJson.MAPPER.writeValueAsString(webhook)).isEqualTo("{\"url\":\"https://e.com/h\",\"events\":[\"job.failed\"]}");
        // Without events it means the same as the string, and is written so.
        assertThat(KilnJson.MAPPER.writeValueAsString(KilnJson.MAPPER.readValue("{\"url\":\"https://e.com/h\"}",
                WebhookSubscription.class))).isEqualTo("\"https://e.com/h\"");
    }

    @Test
    void batchCreatedCarriesBothFormsAndReadsEventsWrittenBeforeTheObjectForm() throws Exception {
        Instant at = Instant.parse("2026-11-30T07:00:00Z");
        BatchCreated plain = new BatchCreated("b_1", "acme", null, 2, 2, "sha", WebhookSubscription.of("https://e.com/h"), at);
        JsonNode plainJson = KilnJson.MAPPER.valueToTree(plain);
        assertThat(plainJson.path("webhook").asText()).isEqualTo("https://e.com/h");
        assertThat(KilnJson.MAPPER.treeToValue(plainJson, BatchCreated.class)).isEqualTo(plain);

        BatchCreated asking = new BatchCreated("b_2", "acme", null, 2, 2, "sha",
                new WebhookSubscription("https://e.com/h", List.of("job.succeeded", "job.failed")), at);
        JsonNode askingJson = KilnJson.MAPPER.valueToTree(asking);
        assertThat(askingJson.path("webhook").path("events").toString()).isEqualTo("[\"job.succeeded\",\"job.failed\"]");
        assertThat(KilnJson.MAPPER.treeToValue(askingJson, BatchCreated.class)).isEqualTo(asking);
        assertThat(KilnJson.MAPPER.treeToValue(KilnJson.MAPPER.valueToTree(
                new BatchCreated("b_3", "acme", null, 1, 1, "sha", null, at)), BatchCreated.class).webhook()).isNull();
    }

    @Test
    void aWrongShapeIsAMismatchNamingTheField() {
        assertThatThrownBy(() -> KilnJson.MAPPER.readValue("{\"webhook\":42}", Holder.class))
                .isInstanceOf(MismatchedInputException.class)
                .satisfies(e -> assertThat(((MismatchedInputException) e).getPath().getFirst().getFieldName()).isEqualTo("webhook"));
        assertThatThrownBy(() -> KilnJson.MAPPER.readValue("{\"webhook\":{\"url\":\"https://e.com\",\"events\":{}}}", Holder.class))
                .isInstanceOf(MismatchedInputException.class)
                .satisfies(e -> assertThat(((MismatchedInputException) e).getPath())
                        .extracting(r -> r.getFieldName()).containsExactly("webhook", "events"));
    }

    record Holder(WebhookSubscription webhook) {
    }
}
