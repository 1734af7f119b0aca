package dev.kiln.console;

import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The console's catalogue reader (console/catalogue.js), run as the page runs it, in Chromium:
 * JSON, NDJSON with and without its batch line, and CSV with quotes, line breaks, numbers,
 * lists and metadata columns.
 */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class ConsoleCatalogueTest {

    private static Browser browser;

    @TestHTTPResource("/")
    URL root;

    @BeforeAll
    static void start() {
        browser = Browser.start();
    }

    @AfterAll
    static void close() {
        if (browser != null) {
            browser.close();
        }
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> parse(String name, String text) {
        browser.open(root + "#/submit");
        return (Map<String, Object>) browser.jsAsync("""
                const done = arguments[arguments.length - 1];
                import('/console/catalogue.js')
                  .then(m => { try { done(m.parseCatalogue(arguments[0], arguments[1])); } catch (e) { done({error: e.message}); } })
                  .catch(e => done({error: String(e)}));""", name, text);
    }

    @Test
    @SuppressWarnings("unchecked")
    void readsCsvWithQuotesLineBreaksNumbersListsAndMetadata() {
        Map<String, Object> result = parse("c.csv", "\uFEFFid,prompt,n,output_compression,size,reference_images,metadata.sku\r\n"
                + "007,\"A mug, \"\"glazed\"\"\nsecond line\",2,85,1024x1024,upl_a|upl_b,00123\r\n"
                + "8,A plate,,,,,\r\n\r\n");
        assertThat(result).containsEntry("format", "csv");
        List<Map<String, Object>> items = (List<Map<String, Object>>) ((Map<String, Object>) result.get("body")).get("items");
        assertThat(items).hasSize(2);
        assertThat(items.get(0)).containsEntry("id", "007").containsEntry("prompt", "A mug, \"glazed\"\nsecond line")
                .containsEntry("n", 2L).containsEntry("output_compression", 85L).containsEntry("size", "1024x1024")
                .containsEntry("reference_images", List.of("upl_a", "upl_b")).containsEntry("metadata", Map.of("sku", "00123"));
        assertThat(items.get(1)).isEqualTo(Map.of("id", "8", "prompt", "A plate"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void readsNdjsonWithItsBatchLineAndJsonInBothShapes() {
        Map<String, Object> nd = parse("c.ndjson", "{\"batch\":{\"external_id\":\"x\",\"defaults\":{\"quality\":\"low\"}}}\n"
                + "{\"id\":\"a\",\"prompt\":\"A\"}\n\n{\"id\":\"b\",\"prompt\":\"B\"}\n");
        Map<String, Object> body = (Map<String, Object>) nd.get("body");
        assertThat(nd).containsEntry("format", "ndjson");
        assertThat(body).containsEntry("external_id", "x").containsEntry("defaults", Map.of("quality", "low"));
        assertThat((List<?>) body.get("items")).hasSize(2);

        Map<String, Object> plain = parse("c.jsonl", "{\"id\":\"a\",\"prompt\":\"A\"}\n");
        assertThat((List<?>) ((Map<String, Object>) plain.get("body")).get("items")).hasSize(1);

        Map<String, Object> json = parse("c.json", "{\"defaults\":{\"size\":\"auto\"},\"items\":[{\"id\":\"a\",\"prompt\":\"A\"}]}");
        assertThat(json).containsEntry("format", "json");
        Map<String, Object> array = parse("c.json", "[{\"id\":\"a\",\"prompt\":\"A\"},{\"id\":\"b\",\"prompt\":\"B\"}]");
        assertThat((List<?>) ((Map<String, Object>) array.get("body")).get("items")).hasSize(2);
    }

    @Test
    void saysWhatIsWrongWithAFileItCannotRead() {
        assertThat(parse("c.csv", "sku,text\n1,A\n")).extractingByKey("error").asString().contains("needs an id column");
        assertThat(parse("c.csv", "id,prompt\n1,\"never closed\n")).extractingByKey("error").asString().contains("never closed");
        assertThat(parse("c.ndjson", "{\"id\":\"a\"}\n{oops\n")).extractingByKey("error").asString().startsWith("line 2:");
        assertThat(parse("c.json", "{\"items\":[]}")).extractingByKey("error").asString().contains("no items");
    }
}
