package dev.kiln.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.kiln.job.FieldError;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.InvalidRequestException;
import dev.kiln.job.WebhookSubscription;
import dev.kiln.messaging.KilnJson;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The body of POST /v1/batches: the wire format binds to one parameter type, and no field is dropped silently. */
class BatchRequestReaderTest {

    private final BatchRequestReader reader = new BatchRequestReader(KilnJson.MAPPER);

    @Test
    void parametersSitBesideTheOtherFieldsOfDefaultsAndItems() throws Exception {
        BatchRequest request = reader.read(json("""
                {"external_id":"x","webhook":"https://example.com/hook",
                 "defaults":{"model":"gpt-image-2","quality":"low","output_format":"webp","output_compression":80,
                             "reference_images":["upl_a"],"mask":"upl_m"},
                 "items":[{"id":"SKU-1","prompt":"mug","size":"1024x1536","n":2,"input_fidelity":"high",
                           "background":"transparent","moderation":"low","reference_images":["upl_b"],
                           "metadata":{"sku":"SKU-1","tags":["a"]}}]}"""));

        assertThat(request.defaults().parameters())
                .isEqualTo(new ImageParameters("gpt-image-2", null, "low", null, "webp", 80, null, null, null));
        assertThat(request.defaults().referenceImages()).containsExactly("upl_a");
        BatchItem item = request.items().getFirst();
        assertThat(item.parameters())
                .isEqualTo(new ImageParameters(null, "1024x1536", null, "transparent", null, null, "low", 2, "high"));
        assertThat(item.metadata()).containsEntry("sku", "SKU-1");
        // and back: the same field names, flat, as clients and the idempotency digest see them
        assertThat(KilnJson.MAPPER.valueToTree(item).toString())
                .contains("\"size\":\"1024x1536\"", "\"input_fidelity\":\"high\"").doesNotContain("parameters");
    }

    @Test
    void anItemWithoutParametersHasNone() throws Exception {
        BatchRequest request = reader.read(json("{\"items\":[{\"id\":\"a\",\"prompt\":\"p\"}]}"));
        assertThat(request.items().getFirst().parameters()).isEqualTo(ImageParameters.NONE);
        assertThat(request.defaults()).isNull();
    }

    @Test
    void everyUnknownFieldIsNamedAtEveryLevel() {
        assertThat(errors("""
                {"extrnal_id":"x","defaults":{"qualty":"high","size":"auto"},
                 "items":[{"id":"a","prompt":"p"},{"id":"b","prompt":"p","outputformat":"png","colour":"red"}]}"""))
                .containsExactly(
                        new FieldError("extrnal_id", "is not a known field; did you mean external_id?"),
                        new FieldError("defaults.qualty", "is not a known field; did you mean quality?"),
                        new FieldError("items[1].outputformat", "is not a known field; did you mean output_format?"),
                        new FieldError("items[1].colour", "is not a known field"));
    }

    @Test
    void aWebhookIsAUrlStringOrAnObjectWithEventsAndItsUnknownFieldsAreNamed() throws Exception {
        assertThat(errors("{\"webhook\":{\"url\":\"https://e.com\",\"secret\":\"s\"},\"items\":[]}"))
                .extracting(FieldError::field).containsExactly("webhook.secret");
        assertThat(reader.read(json("{\"webhook\":\"https://e.com/h\",\"items\":[]}")).webhook())
                .isEqualTo(new WebhookSubscription("https://e.com/h", null));
        assertThat(reader.read(json("""
                {"webhook":{"url":"https://e.com/h","events":["job.failed","batch.completed"]},"items":[]}""")).webhook())
                .isEqualTo(new WebhookSubscription("https://e.com/h", List.of("job.failed", "batch.completed")));
    }

    @Test
    void anNdjsonBatchLineTakesTheWebhookObjectToo() throws Exception {
        List<FieldError> errors = new java.util.ArrayList<>();
        BatchRequest batch = reader.readBatchFields("line 1.batch",
                json("{\"webhook\":{\"url\":\"https://e.com/h\",\"events\":[\"job.failed\"]}}"), errors);
        assertThat(errors).isEmpty();
        assertThat(batch.webhook()).isEqualTo(new WebhookSubscription("https://e.com/h", List.of("job.failed")));
        reader.readBatchFields("line 1.batch", json("{\"webhook\":{\"url\":\"https://e.com/h\",\"event\":[]}}"), errors);
        assertThat(errors).extracting(FieldError::field).containsExactly("line 1.batch.webhook.event");
    }

    @Test
    void aBodyThatIsNoObjectIsRefused() {
        assertThat(errors("[1,2]")).extracting(FieldError::reason).containsExactly("must be a JSON object, not array");
        assertThat(errors("null")).extracting(FieldError::field).containsExactly("body");
    }

    @Test
    void aWrongTypeNamesItsPath() {
        assertThatThrownBy(() -> reader.read(json("{\"items\":[{\"id\":\"a\",\"prompt\":\"p\",\"n\":\"three\"}]}")))
                .isInstanceOf(MismatchedInputException.class)
                .satisfies(e -> assertThat(((MismatchedInputException) e).getPath())
                        .extracting(r -> r.getFieldName() == null ? "[" + r.getIndex() + "]" : r.getFieldName())
                        .containsExactly("items", "[0]", "n"));
    }

    @Test
    void anItemReadAloneIsTheSameItemAsInAWholeBodyAndAWrongTypeIsStillNamed() throws Exception {
        String item = """
                {"id":"SKU-1","prompt":"mug","size":"1024x1536","n":2,"output_compression":80,"reference_images":["upl_b"],
                 "mask":"upl_m","metadata":{"sku":"SKU-1","tags":["a"],"weight":1.5,"count":3}}""";
        BatchItem whole = reader.read(json("{\"items\":[" + item + "]}")).items().getFirst();
        java.util.List<FieldError> errors = new java.util.ArrayList<>();
        assertThat(reader.readItem("line 1", json(item), errors)).isEqualTo(whole);
        assertThat(reader.readItem("line 2", json("{\"id\":\"a\",\"prompt\":\"p\"}"), errors).parameters()).isEqualTo(ImageParameters.NONE);
        assertThat(errors).isEmpty();

        assertThat(reader.readItem("line 3", json("{\"id\":\"a\",\"prompt\":\"p\",\"n\":1.5}"), errors)).isNull();
        assertThat(reader.readItem("line 4", json("{\"id\":{\"a\":1},\"prompt\":\"p\"}"), errors)).isNull();
        assertThat(errors).extracting(FieldError::field).containsExactly("line 3.n", "line 4.id");
    }

    @Test
    void theKnownFieldsComeFromTheRecords() {
        assertThat(BatchRequestReader.fieldsOf(KilnJson.MAPPER, BatchItem.class)).containsExactlyInAnyOrder(
                "id", "prompt", "model", "size", "quality", "background", "output_format", "output_compression",
                "moderation", "n", "input_fidelity", "reference_images", "mask", "metadata");
        assertThat(BatchRequestReader.fieldsOf(KilnJson.MAPPER, BatchRequest.class))
                .containsExactlyInAnyOrder("external_id", "defaults", "items", "webhook", "priority", "deadline", "cache",
                        "budget_usd", "lane");
    }

    private List<FieldError> errors(String body) {
        try {
            reader.read(json(body));
        } catch (InvalidRequestException e) {
            return e.errors();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("accepted: " + body);
    }

    private static JsonNode json(String text) throws Exception {
        return KilnJson.MAPPER.readTree(text);
    }

}
