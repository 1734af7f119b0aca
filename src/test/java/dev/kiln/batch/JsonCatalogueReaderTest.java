package dev.kiln.batch;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.FieldError;
import dev.kiln.job.InvalidRequestException;
import dev.kiln.messaging.KilnObjectMapperCustomizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A JSON batch read as a stream, without Quarkus: what is spooled, and problems named as in a whole body. */
class JsonCatalogueReaderTest {

    private static final String TENANT = "default";

    @TempDir
    Path dir;

    private final ObjectMapper mapper = mapper();
    private final NdjsonCatalogueReader items = new NdjsonCatalogueReader(mapper, validator(), new BatchValidatorTest.TestIntakeConfig(1_000));
    private final JsonCatalogueReader reader = new JsonCatalogueReader(mapper, validator(), new BatchValidatorTest.TestIntakeConfig(1_000));
    private CatalogueSpool spool;

    private static ObjectMapper mapper() {
        ObjectMapper mapper = new ObjectMapper();
        new KilnObjectMapperCustomizer().customize(mapper);
        return mapper;
    }

    private static BatchValidator validator() {
        return new BatchValidator(new BatchValidatorTest.TestIntakeConfig(1_000),
                new BatchValidatorTest.TestReferencesConfig(List.of("images.example.com")));
    }

    @AfterEach
    void deleteSpool() {
        if (spool != null) {
            spool.close();
        }
    }

    @Test
    void theBatchFieldsAreKeptAndEachItemIsSpooled() throws IOException {
        String body = """
                {"external_id": "nightly", "defaults": {"quality": "low", "size": "1024x1024", "n": 2}, "priority": "bulk",
                 "items": [{"id": "SKU-1", "prompt": "a mug"},
                           {"id": "SKU-2", "prompt": "a cup", "n": 3},
                           {"id": "SKU-3", "prompt": "a jug", "metadata": {"shelf": 4}}]}
                """;
        Catalogue catalogue = read(body);

        assertThat(catalogue.ndjson()).isFalse();
        assertThat(catalogue.items()).isEqualTo(3);
        assertThat(catalogue.images()).as("n 2 from the defaults, 3 of its own, 2").isEqualTo(7);
        assertThat(catalogue.batch().externalId()).isEqualTo("nightly");
        assertThat(catalogue.batch().parsedPriority().name()).isEqualTo("BULK");
        assertThat(spooledIds()).containsExactly("SKU-1", "SKU-2", "SKU-3");
        assertThat(catalogue.requestSha256()).hasSize(64)
                .as("the same batch written otherwise is the same request").isEqualTo(read(body.replace(": ", ":").replace(", ", ",").replace("\n", "  ")).requestSha256())
                .as("another batch is not").isNotEqualTo(read(body.replace("a jug", "a jar")).requestSha256());
    }

    @Test
    void problemsAreNamedAsInAWholeBody() {
        assertThat(errorsOf("""
                {"defaults": {"qualty": "high", "size": "1000x1000"},
                 "items": [{"id": "a", "prompt": "p"}, {"id": "a", "prompt": "p", "outputformat": "png"}, {"id": "c", "n": "three"}]}"""))
                .extracting(FieldError::field)
                .containsExactly("defaults.qualty", "items[1].outputformat", "items[2].n");
        assertThat(errorsOf("{\"items\": [{\"id\": \"a\", \"prompt\": \"p\", \"size\": \"999x999\"}, {\"id\": \"a\", \"prompt\": \"q\"}]}"))
                .extracting(FieldError::field).containsExactly("items[0].size", "items[1].id");
    }

    @Test
    void defaultsThatComeAfterTheItemsStillApplyToThem() throws IOException {
        // Alone, items[0] would break the rule (transparent needs png or webp); the late defaults make it right.
        Catalogue catalogue = read("""
                {"items": [{"id": "a", "prompt": "p", "background": "transparent"}, {"id": "b", "prompt": "q"}],
                 "defaults": {"output_format": "png", "n": 2}}""");
        assertThat(catalogue.images()).isEqualTo(4);
        assertThat(errorsOf("{\"items\": [{\"id\": \"a\", \"prompt\": \"p\"}], \"defaults\": {\"size\": \"999x999\"}}"))
                .extracting(FieldError::field).containsExactly("defaults.size");
    }

    @Test
    void theShapeOfTheBodyIsChecked() {
        assertThat(errorsOf("")).extracting(FieldError::field).containsExactly("body");
        assertThat(errorsOf("null")).extracting(FieldError::field).containsExactly("body");
        assertThat(errorsOf("[1, 2]")).extracting(FieldError::reason).containsExactly("must be a JSON object, not array");
        assertThat(errorsOf("{\"items\": \"a\"}")).extracting(FieldError::reason).containsExactly("must be an array of items, not string");
        assertThat(errorsOf("{\"defaults\": {\"qualty\": \"low\"}, \"items\": {}}")).extracting(FieldError::field)
                .containsExactly("defaults.qualty", "items");
        assertThat(errorsOf("{\"items\": []}")).extracting(FieldError::reason).containsExactly("must hold at least one item");
        assertThat(errorsOf("{\"external_id\": \"x\"}")).extracting(FieldError::field).containsExactly("items");
        assertThat(errorsOf("{\"items\": [1]}")).extracting(FieldError::field).containsExactly("items[0]");
        assertThatThrownBy(() -> read("{\"items\": [\n {\"id\": \"a\" \"prompt\": \"p\"}]}"))
                .isInstanceOf(JsonParseException.class)
                .satisfies(e -> assertThat(((JsonParseException) e).getLocation().getLineNr()).isEqualTo(2));
    }

    @Test
    void tooManyItemsStopTheRead() {
        String body = IntStream.range(0, 1_001).mapToObj(i -> "{\"id\":\"" + i + "\",\"prompt\":\"p\"}")
                .collect(Collectors.joining(",", "{\"items\": [", "]}"));
        assertThat(errorsOf(body)).extracting(FieldError::field).containsExactly("items");
    }

    @Test
    void reportsAtMostAHundredProblems() {
        String body = IntStream.range(0, 300).mapToObj(i -> "{\"id\":\"" + i + "\"}")
                .collect(Collectors.joining(",", "{\"items\": [", "]}"));
        List<FieldError> errors = errorsOf(body);
        assertThat(errors).hasSize(NdjsonCatalogueReader.MAX_ERRORS);
        assertThat(errors.getFirst().field()).isEqualTo("items[0].prompt");
        assertThat(errors.getLast().field()).isEqualTo("items[99].prompt");
    }

    private Catalogue read(String body) throws IOException {
        if (spool != null) {
            spool.close();
        }
        spool = CatalogueSpool.create(dir);
        return reader.read(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)), TENANT, spool);
    }

    private List<FieldError> errorsOf(String body) {
        try {
            read(body);
        } catch (InvalidRequestException e) {
            return e.errors();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no problem found in " + body);
    }

    private List<String> spooledIds() throws IOException {
        List<String> ids = new ArrayList<>();
        try (CatalogueSpool.Reader lines = spool.reader()) {
            for (CatalogueSpool.Line line = lines.next(); line != null; line = lines.next()) {
                assertThat(line.number()).isEqualTo(ids.size());
                ids.add(items.item(line).id());
            }
        }
        return ids;
    }
}
