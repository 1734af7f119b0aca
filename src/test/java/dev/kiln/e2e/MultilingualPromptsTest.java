package dev.kiln.e2e;

import dev.kiln.simulator.ReceivedRequest;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/** Prompts in several scripts reach the provider byte for byte, through Kafka and the worker. */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class MultilingualPromptsTest {

    private static final List<String> PROMPTS = List.of(
            "白い背景に置かれた陶器のマグカップ、見出し「新発売」",
            "إعلان لحقيبة جلدية بنية مع عنوان \"تخفيضات الشتاء\"",
            "सफेद पृष्ठभूमि पर चमड़े का बैग, शीर्षक \"नया संग्रह\"",
            "한국어 제목 \"겨울 세일\"이 있는 운동화 광고",
            "Mixed: 咖啡杯 — café ☕ with emoji 🎁 and a \"quoted\" headline");

    @Test
    void everyScriptArrivesUnchanged() throws Exception {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < PROMPTS.size(); i++) {
            items.append(i == 0 ? "" : ",").append("{\"id\": \"lang-").append(i).append("\", \"prompt\": ")
                    .append(json(PROMPTS.get(i))).append('}');
        }
        String body = "{\"defaults\": {\"size\": \"1024x1024\", \"quality\": \"low\"}, \"items\": [" + items + "]}";
        String batchId = given().contentType(ContentType.JSON.withCharset(StandardCharsets.UTF_8)).body(body.getBytes(StandardCharsets.UTF_8))
                .post("/v1/batches").then().statusCode(202).extract().path("id");

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/v1/batches/" + batchId).then().body("state", equalTo("succeeded")));

        for (String prompt : PROMPTS) {
            String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(prompt.getBytes(StandardCharsets.UTF_8)));
            Optional<ReceivedRequest> received = KilnStackResource.simulator().received().stream()
                    .filter(r -> r.accepted() && expected.equals(r.promptSha256()))
                    .findFirst();
            assertThat(received).as(prompt).isPresent();
            assertThat(received.get().prompt()).isEqualTo(prompt);
        }
    }

    private static String json(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
