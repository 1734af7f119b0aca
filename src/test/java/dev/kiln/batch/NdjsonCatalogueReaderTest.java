package dev.kiln.batch;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The streamed catalogue's rules, line by line, without Quarkus: what is spooled and how each problem names its line. */
class NdjsonCatalogueReaderTest {

    private static final String TENANT = "default";

    @TempDir
    Path dir;

    private final ObjectMapper mapper = mapper();
    private final NdjsonCatalogueReader reader = new NdjsonCatalogueReader(mapper,
            new BatchValidator(new BatchValidatorTest.TestIntakeConfig(1_000),
                    new BatchValidatorTest.TestReferencesConfig(List.of("images.example.com"))),
            new BatchValidatorTest.TestIntakeConfig(1_000));
    private CatalogueSpool spool;

    private static ObjectMapper mapper() {
        ObjectMapper mapper = new ObjectMapper();
        new KilnObjectMapperCustomizer().customize(mapper);
        return mapper;
    }

    @AfterEach
    void deleteSpool() {
        if (spool != null) {
            spool.close();
        }
    }

    @Test
    void aBatchLineThenOneItemALineIsSpooledLineByLine() throws IOException {
        String body = """
                {"batch": {"external_id": "nightly", "defaults": {"quality": "low", "size": "1024x1024", "n": 2}, "priority": "bulk"}}
                {"id": "SKU-1", "prompt": "a mug"}

                {"id": "SKU-2", "prompt": "a cup", "n": 3}\r
                {"id": "SKU-3", "prompt": "a jug", "metadata": {"shelf": 4}}""";
        Catalogue catalogue = read(body);

        assertThat(catalogue.items()).isEqualTo(3);
        assertThat(catalogue.images()).as("n 2 from the defaults, 3 of its own, 2").isEqualTo(7);
        assertThat(catalogue.batchLine()).isEqualTo(1);
        assertThat(catalogue.batch().externalId()).isEqualTo("nightly");
        assertThat(catalogue.batch().parsedPriority().name()).isEqualTo("BULK");
        assertThat(spooled()).containsExactly(2, 4, 5);
        assertThat(catalogue.requestSha256()).hasSize(64).isNotEqualTo(read(body + "\n").requestSha256());
    }

    @Test
    void withoutABatchLineEveryLineIsAnItem() throws IOException {
        Catalogue catalogue = read("{\"id\":\"a\",\"prompt\":\"p\"}\n{\"id\":\"b\",\"prompt\":\"q\"}\n");
        assertThat(catalogue.items()).isEqualTo(2);
        assertThat(catalogue.batchLine()).isZero();
        assertThat(catalogue.batch().usesCache()).isTrue();
        assertThat(spooled()).containsExactly(1, 2);
    }

    @Test
    void everyBadLineIsNamedWithItsFieldAndNothingIsKeptOnceOneIsBad() {
        List<String> lines = new ArrayList<>(IntStream.rangeClosed(1, 500)
                .mapToObj(i -> "{\"id\":\"SKU-" + i + "\",\"prompt\":\"item " + i + "\"}").toList());
        lines.set(9, "{\"id\":\"SKU-10\"}");                                      // line 10: no prompt
        lines.set(199, "{\"id\":\"SKU-200\",\"prompt\":\"p\",\"qualty\":\"low\"}"); // line 200: misspelt field
        lines.set(299, "{\"id\":\"SKU-300\",\"prompt\":\"p\"");                    // line 300: cut short
        lines.set(399, "{\"id\":\"SKU-1\",\"prompt\":\"p\",\"size\":\"999x999\"}"); // line 400: repeated id, bad size

        assertThat(errorsOf(String.join("\n", lines))).extracting(FieldError::field)
                .containsExactly("line 10.prompt", "line 200.qualty", "line 300", "line 400.id", "line 400.size");
        assertThat(errorsOf(String.join("\n", lines))).filteredOn(e -> e.field().equals("line 200.qualty"))
                .singleElement().extracting(FieldError::reason).asString().contains("did you mean quality?");
        assertThat(spool.size()).as("nothing is spooled after the first bad line").isEqualTo(9);
    }

    @Test
    void aBadBatchLineIsNamedThere() {
        assertThat(errorsOf("{\"batch\": {\"priorty\": \"bulk\", \"items\": []}}\n{\"id\":\"a\",\"prompt\":\"p\"}"))
                .extracting(FieldError::field).containsExactly("line 1.batch.priorty", "line 1.batch.items");
        assertThat(errorsOf("{\"batch\": {\"defaults\": {\"size\": \"big\"}, \"priority\": \"soon\"}}\n{\"id\":\"a\",\"prompt\":\"p\"}"))
                .extracting(FieldError::field).containsExactly("line 1.batch.priority", "line 1.batch.defaults.size");
        assertThat(errorsOf("{\"id\":\"a\",\"prompt\":\"p\"}\n{\"batch\": {}}")).extracting(FieldError::field)
                .containsExactly("line 2.batch");
        assertThat(errorsOf("{\"batch\": {}, \"id\": \"a\"}\n{\"id\":\"a\",\"prompt\":\"p\"}")).extracting(FieldError::field)
                .containsExactly("line 1");
        assertThat(errorsOf("[1, 2]\n\"text\"\n{\"id\": 5, \"prompt\": \"p\", \"n\": 1.5}")).extracting(FieldError::field)
                .containsExactly("line 1", "line 2", "line 3.id");
    }

    @Test
    void anEmptyCatalogueOrOneWithTooManyItemsIsRefused() {
        assertThat(errorsOf("\n\n")).extracting(FieldError::field).containsExactly("body");
        assertThat(errorsOf("{\"batch\": {\"external_id\": \"x\"}}\n")).extracting(FieldError::field).containsExactly("body");
        String tooMany = IntStream.rangeClosed(1, 1_005).mapToObj(i -> "{\"id\":\"" + i + "\",\"prompt\":\"p\"}")
                .collect(Collectors.joining("\n"));
        assertThat(errorsOf(tooMany)).singleElement().satisfies(e -> {
            assertThat(e.field()).isEqualTo("line 1001");
            assertThat(e.reason()).contains("at most 1000 items");
        });
    }

    @Test
    void aLineOverTheLimitIsRefusedWithoutBeingKept() {
        String longPrompt = "x".repeat(2_000);
        assertThat(errorsOf("{\"id\":\"a\",\"prompt\":\"p\"}\n{\"id\":\"b\",\"prompt\":\"" + longPrompt + "\"}\n{\"id\":\"c\",\"prompt\":\"p\"}"))
                .singleElement().satisfies(e -> {
                    assertThat(e.field()).isEqualTo("line 2");
                    assertThat(e.reason()).contains("longer than 1024 bytes");
                });
    }

    @Test
    void reportsAtMostAHundredProblems() {
        String bad = IntStream.rangeClosed(1, 300).mapToObj(i -> "{\"id\":\"" + i + "\"}").collect(Collectors.joining("\n"));
        List<FieldError> errors = errorsOf(bad);
        assertThat(errors).hasSize(NdjsonCatalogueReader.MAX_ERRORS);
        assertThat(errors.getFirst().field()).isEqualTo("line 1.prompt");
        assertThat(errors.getLast().field()).isEqualTo("line 100.prompt");
    }

    @Test
    void aDefaultInputFidelityWithoutEditsIsTheBatchLinesFault() {
        assertThat(errorsOf("{\"batch\": {\"defaults\": {\"input_fidelity\": \"high\"}}}\n{\"id\":\"a\",\"prompt\":\"p\"}"))
                .extracting(FieldError::field).containsExactly("line 1.batch.defaults.input_fidelity");
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

    private List<Integer> spooled() throws IOException {
        List<Integer> numbers = new ArrayList<>();
        try (CatalogueSpool.Reader lines = spool.reader()) {
            for (CatalogueSpool.Line line = lines.next(); line != null; line = lines.next()) {
                numbers.add(line.number());
                assertThat(reader.item(line).id()).isNotBlank();
            }
        }
        assertThat(Files.list(dir).count()).isEqualTo(1);
        return numbers;
    }
}
