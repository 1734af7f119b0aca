package dev.kiln.batch;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.kiln.job.EventTypes;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.KilnJson;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Intake writes its {@code queued} events by hand: every consumer of {@code kiln.status} must get
 * the very bytes the mapper writes for {@link JobStatusChanged#accepted}, at the batch's time.
 */
class QueuedEventWriterTest {

    private static final Instant ACCEPTED = Instant.parse("2026-11-30T04:00:00.123456789Z");

    @Test
    void writesWhatTheMapperWrites() throws Exception {
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("kept", "yes");
        nested.put("dropped", null);
        List<Object> list = new ArrayList<>(Arrays.asList("a", null, 2, 2.5, true));
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("row", 7);
        metadata.put("big", 12_345_678_901L);
        metadata.put("huge", new BigInteger("123456789012345678901234567890"));
        metadata.put("price", 19.99);
        metadata.put("exact", new BigDecimal("0.10"));
        metadata.put("on_sale", false);
        metadata.put("none", null);
        metadata.put("tags", list);
        metadata.put("nested", nested);
        metadata.put("text", "«ñ» 😀 \"quoted\"\n\\");

        assertSameAsMapper(job("SKU-1", metadata));
        assertSameAsMapper(job("SKU-2", Map.of()));
        assertSameAsMapper(job("SKU-3", null));
        assertSameAsMapper(job("a \"strange\" id/with\ttab", Map.of("row", 1)));
    }

    @Test
    void metadataAsTheClientSentItReadsBack() throws Exception {
        // The metadata as intake binds it from a body, then written and read back as the view does.
        Map<String, Object> metadata = KilnJson.MAPPER.readValue(
                "{\"row\": 1, \"price\": 1e3, \"deep\": {\"a\": [1, {\"b\": null}], \"c\": null}, \"n\": -0.0}",
                new TypeReference<Map<String, Object>>() { });
        RenderJobRequested job = job("SKU-9", metadata);
        byte[] written = new QueuedEventWriter(ACCEPTED).write(job);

        assertThat(new String(written, StandardCharsets.UTF_8))
                .isEqualTo(new String(KilnJson.MAPPER.writeValueAsBytes(acceptedAt(job)), StandardCharsets.UTF_8));
        JobStatusChanged read = KilnJson.MAPPER.readValue(written, JobStatusChanged.class);
        assertThat(read.state()).isEqualTo(JobState.QUEUED);
        assertThat(read.at()).isEqualTo(ACCEPTED);
        assertThat(read.jobId()).isEqualTo("b_x-000009");
        assertThat(read.metadata()).containsEntry("row", 1).containsKey("deep");
    }

    @Test
    void typeIsTheQueuedEventsType() {
        assertThat(QueuedEventWriter.TYPE).isEqualTo(EventTypes.job(JobState.QUEUED))
                .isEqualTo(acceptedAt(job("SKU-1", null)).eventType());
    }

    private static void assertSameAsMapper(RenderJobRequested job) throws Exception {
        QueuedEventWriter writer = new QueuedEventWriter(ACCEPTED);
        // The bytes TransactionalPublisher sent for it through the mapper (a UTF-8 generator too).
        String expected = new String(KilnJson.MAPPER.writeValueAsBytes(acceptedAt(job)), StandardCharsets.UTF_8);
        // Twice: the writer reuses its buffer, and the second event must not carry the first's bytes.
        assertThat(new String(writer.write(job), StandardCharsets.UTF_8)).isEqualTo(expected);
        assertThat(new String(writer.write(job), StandardCharsets.UTF_8)).isEqualTo(expected);
    }

    /** {@link JobStatusChanged#accepted}, at the batch's time rather than the moment it is made. */
    private static JobStatusChanged acceptedAt(RenderJobRequested job) {
        JobStatusChanged now = JobStatusChanged.accepted(job);
        return new JobStatusChanged(now.jobId(), now.batchId(), now.tenant(), now.itemId(), now.index(), now.state(),
                now.attempt(), now.outputs(), now.error(), now.usage(), ACCEPTED, now.metadata(), now.worker(), now.since(),
                now.cached());
    }

    private static RenderJobRequested job(String itemId, Map<String, Object> metadata) {
        int index = itemId.startsWith("SKU-") ? Integer.parseInt(itemId.substring(4)) : 0;
        return new RenderJobRequested("b_x-%06d".formatted(index), "b_x", "acme", itemId, index, "a mug",
                ImageParameters.NONE, List.of(), null, metadata, 1, ACCEPTED.minusSeconds(5));
    }
}
