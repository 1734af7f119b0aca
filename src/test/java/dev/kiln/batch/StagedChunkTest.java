package dev.kiln.batch;

import com.fasterxml.jackson.databind.util.RawValue;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.KilnJson;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Intake writes each job's JSON once and stages the chunk from it: the dispatcher must read the very same {@link JobsStaged}. */
class StagedChunkTest {

    @Test
    void aChunkOfPreWrittenJobsReadsBackAsJobsStaged() throws Exception {
        Instant now = Instant.parse("2026-11-30T04:00:00Z");
        ImageParameters low = new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, 2, null);
        List<RenderJobRequested> jobs = List.of(
                new RenderJobRequested("b_x-000000", "b_x", "acme", "SKU-1", 0, "a mug, «ñ» 😀", low, List.of("acme/uploads/u.png"),
                        null, Map.of("row", 1, "tags", List.of("a", "b")), 1, now),
                new RenderJobRequested("b_x-000001", "b_x", "acme", "SKU-2", 1, "a cup", ImageParameters.NONE, null, null,
                        Map.of(), 1, now).withCache(false));
        JobsStaged expected = new JobsStaged("b_x", "acme", Priority.BULK, now.plusSeconds(3600), jobs);

        List<RawValue> written = jobs.stream().map(j -> {
            try {
                return new RawValue(KilnJson.MAPPER.writeValueAsString(j));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).toList();
        byte[] chunk = KilnJson.MAPPER.writeValueAsBytes(
                new BatchIntake.StagedChunk("b_x", "acme", Priority.BULK, now.plusSeconds(3600), written, null, null));

        assertThat(KilnJson.MAPPER.readValue(chunk, JobsStaged.class)).isEqualTo(expected);
        assertThat(new String(chunk, java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo(KilnJson.MAPPER.writeValueAsString(expected));
    }
}
