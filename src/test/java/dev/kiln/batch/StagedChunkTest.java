package dev.kiln.batch;

import dev.kiln.job.EventTypes;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobsStaged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import dev.kiln.messaging.TransactionalPublisher;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Intake writes each job's JSON once, straight into its staged chunk: the dispatcher must read the
 * very same {@link JobsStaged}, and no chunk may pass its limits.
 */
class StagedChunkTest {

    private static final Instant NOW = Instant.parse("2026-11-30T04:00:00Z");
    private static final ImageParameters LOW = new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, 2, null);

    /** What the writer sent, as the transaction got it. */
    record Sent(String topic, String key, byte[] json, String type, String subject) {
    }

    @Test
    void aChunkIsTheMappersJsonOfJobsStaged() throws Exception {
        List<RenderJobRequested> jobs = List.of(
                new RenderJobRequested("b_x-000000", "b_x", "acme", "SKU-1", 0, "a mug, «ñ» 😀", LOW, List.of("acme/uploads/u.png"),
                        null, Map.of("row", 1, "tags", List.of("a", "b")), 1, NOW),
                new RenderJobRequested("b_x-000001", "b_x", "acme", "SKU-2", 1, "a cup", ImageParameters.NONE, null, null,
                        Map.of(), 1, NOW).withCache(false));
        JobsStaged expected = new JobsStaged("b_x", "acme", Priority.BULK, NOW.plusSeconds(3600), jobs);

        List<Sent> sent = new ArrayList<>();
        StagedChunkWriter writer = new StagedChunkWriter(recorder(sent), "b_x", "acme", Priority.BULK, NOW.plusSeconds(3600));
        jobs.forEach(writer::add);
        writer.flush();
        writer.flush(); // nothing left: sends nothing

        assertThat(sent).hasSize(1);
        Sent chunk = sent.getFirst();
        assertThat(chunk.topic()).isEqualTo(Topics.ITEMS);
        assertThat(chunk.key()).isEqualTo("b_x");
        assertThat(chunk.type()).isEqualTo(EventTypes.ITEMS_STAGED);
        assertThat(KilnJson.MAPPER.readValue(chunk.json(), JobsStaged.class)).isEqualTo(expected);
        assertThat(new String(chunk.json(), StandardCharsets.UTF_8))
                .isEqualTo(new String(KilnJson.MAPPER.writeValueAsBytes(expected), StandardCharsets.UTF_8));
    }

    @Test
    void aBatchWithABudgetCarriesItAndTheJobEstimateInEveryChunk() throws Exception {
        List<Sent> sent = new ArrayList<>();
        StagedChunkWriter writer = new StagedChunkWriter(recorder(sent), "b_b", "acme", Priority.NORMAL, NOW, 0.25, 0.0125);
        int total = StagedChunkWriter.MAX_JOBS + 3;
        IntStream.range(0, total).forEach(i -> writer.add(job(i, "a mug")));
        writer.flush();

        List<JobsStaged> chunks = read(sent);
        assertThat(chunks).hasSize(2).allSatisfy(c -> {
            assertThat(c.budgetUsd()).isEqualTo(0.25);
            assertThat(c.jobCostUsd()).isEqualTo(0.0125);
        });
        assertThat(chunks.stream().mapToInt(c -> c.jobs().size()).sum()).isEqualTo(total);
        // A tenant's monthly budget without a batch budget: the estimate is carried, for the month's reservations.
        List<Sent> monthly = new ArrayList<>();
        StagedChunkWriter month = new StagedChunkWriter(recorder(monthly), "b_m", "acme", Priority.NORMAL, NOW, null, 0.0125);
        month.add(job(0, "a mug"));
        month.flush();
        assertThat(read(monthly).getFirst().budgetUsd()).isNull();
        assertThat(read(monthly).getFirst().jobCostUsd()).isEqualTo(0.0125);
        // Without any budget intake computes no estimate, and nothing is carried: the dispatcher reserves nothing.
        List<Sent> unbudgeted = new ArrayList<>();
        StagedChunkWriter plain = new StagedChunkWriter(recorder(unbudgeted), "b_c", "acme", Priority.NORMAL, NOW, null, null);
        plain.add(job(0, "a mug"));
        plain.flush();
        assertThat(read(unbudgeted).getFirst().jobCostUsd()).isNull();
        assertThat(new String(unbudgeted.getFirst().json(), StandardCharsets.UTF_8)).doesNotContain("budget", "cost");
    }

    @Test
    void chunksSplitAtTheJobLimitAndKeepEveryJobInOrder() throws Exception {
        List<Sent> sent = new ArrayList<>();
        StagedChunkWriter writer = new StagedChunkWriter(recorder(sent), "b_y", "acme", Priority.NORMAL, null);
        int total = 2 * StagedChunkWriter.MAX_JOBS + 1;
        IntStream.range(0, total).forEach(i -> writer.add(job(i, "a mug")));
        writer.flush();

        List<JobsStaged> chunks = read(sent);
        assertThat(chunks).extracting(c -> c.jobs().size())
                .containsExactly(StagedChunkWriter.MAX_JOBS, StagedChunkWriter.MAX_JOBS, 1);
        assertThat(chunks).allSatisfy(c -> {
            assertThat(c.batchId()).isEqualTo("b_y");
            assertThat(c.deadline()).isNull();
        });
        assertThat(chunks.stream().flatMap(c -> c.jobs().stream()).map(RenderJobRequested::index))
                .containsExactlyElementsOf(IntStream.range(0, total).boxed().toList());
    }

    @Test
    void chunksSplitBeforeTheByteLimit() throws Exception {
        List<Sent> sent = new ArrayList<>();
        int maxBytes = 4_000;
        StagedChunkWriter writer = new StagedChunkWriter(recorder(sent), "b_z", "acme", Priority.BULK, NOW, 500, maxBytes);
        String prompt = "ü".repeat(400); // 800 bytes of UTF-8 in 400 chars
        IntStream.range(0, 20).forEach(i -> writer.add(job(i, prompt)));
        writer.flush();

        assertThat(sent).hasSizeGreaterThan(4);
        assertThat(sent).allSatisfy(s -> assertThat(s.json().length).isLessThanOrEqualTo(maxBytes));
        assertThat(read(sent).stream().mapToInt(c -> c.jobs().size()).sum()).isEqualTo(20);
    }

    private static List<JobsStaged> read(List<Sent> sent) throws Exception {
        List<JobsStaged> chunks = new ArrayList<>();
        for (Sent s : sent) {
            chunks.add(KilnJson.MAPPER.readValue(s.json(), JobsStaged.class));
        }
        return chunks;
    }

    private static RenderJobRequested job(int index, String prompt) {
        return new RenderJobRequested("b-%06d".formatted(index), "b", "acme", "SKU-" + index, index, prompt, LOW, null, null,
                Map.of("row", index), 1, NOW);
    }

    private static TransactionalPublisher.Transaction recorder(List<Sent> sent) {
        return new TransactionalPublisher.Transaction() {
            @Override
            public void send(String topic, String key, Object value, String type, String subject) {
                throw new AssertionError("chunks are sent as written JSON");
            }

            @Override
            public void sendJson(String topic, String key, byte[] json, String type, String subject) {
                sent.add(new Sent(topic, key, json, type, subject));
            }
        };
    }
}
