package dev.kiln.status;

import dev.kiln.job.JobError;
import dev.kiln.job.JobOutput;
import dev.kiln.job.JobState;
import dev.kiln.job.Usage;
import dev.kiln.messaging.KilnJson;
import dev.kiln.storage.ObjectStore;
import dev.kiln.storage.S3Config;
import dev.kiln.storage.TestS3Config;
import dev.kiln.storage.StorageHealth;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.minio.MinioClient;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The status view's stored form of a job ({@link StoredJob}) and the answers written from it
 * ({@link JobAnswers}): byte for byte what Jackson writes for {@link JobStatus} and a page
 * ({@link StatusResource.ItemsResponse}), for jobs of every shape, also for values stored before
 * this form; the header's state and index; the job view read back.
 */
class StoredJobTest {

    private static final Instant T = Instant.parse("2026-11-30T10:00:00.123456Z");
    /**
     * Stands in for presigning: deterministic, plain ASCII as presigned URLs are, and with
     * characters JSON must escape for the one key that has a quote.
     */
    private static final ObjectUrls URL = key -> "https://s3.test/kiln/" + key
            + "?X-Amz-Signature=" + Integer.toHexString(key.hashCode()) + (key.contains("\"") ? "&q=\"\\\u0001" : "");

    @Test
    void theStatesKeepTheOrdinalsTheStoredFormHolds() {
        // StoredJob keeps a job's state as its ordinal in the view's store, which outlives an
        // upgrade: a new state must be added at the end, never between these.
        assertThat(JobState.values()).containsExactly(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED,
                JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED);
    }

    @Test
    void answersAreWhatJacksonWritesForEveryShapeOfJob() throws Exception {
        for (JobView job : jobs()) {
            byte[] stored = StoredJob.encode(job);
            assertThat(stored[0]).isEqualTo(StoredJob.FORM);
            String expected = KilnJson.MAPPER.writeValueAsString(JobStatus.of(job, URL::url));
            assertThat(new String(JobAnswers.job(stored, URL), StandardCharsets.UTF_8)).as(job.id()).isEqualTo(expected);
            assertThat(StoredJob.state(stored)).isEqualTo(job.state());
            assertThat(StoredJob.index(stored)).isEqualTo(job.index());
            assertThat(StoredJob.hasId(stored, job.id())).isTrue();
            assertThat(StoredJob.hasId(stored, job.id() + "0")).isFalse();
            assertThat(KilnJson.MAPPER.writeValueAsString(JobStatus.keysOnly(StoredJob.decode(stored))))
                    .as("the view read back").isEqualTo(KilnJson.MAPPER.writeValueAsString(JobStatus.keysOnly(job)));
        }
    }

    @Test
    void valuesStoredBeforeThisFormAreStillAnswered() throws Exception {
        for (JobView job : jobs()) {
            byte[] legacy = KilnJson.MAPPER.writeValueAsBytes(job);
            assertThat(new String(JobAnswers.job(legacy, URL), StandardCharsets.UTF_8))
                    .isEqualTo(KilnJson.MAPPER.writeValueAsString(JobStatus.of(job, URL::url)));
            assertThat(StoredJob.state(legacy)).isEqualTo(job.state());
            assertThat(StoredJob.index(legacy)).isEqualTo(job.index());
            assertThat(StoredJob.decode(legacy)).isEqualTo(job);
        }
    }

    @Test
    void aPageIsWhatJacksonWritesForItsItems() throws Exception {
        List<JobView> jobs = jobs();
        List<byte[]> stored = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            // Both forms on one page, as right after an upgrade.
            stored.add(i % 2 == 0 ? StoredJob.encode(jobs.get(i)) : KilnJson.MAPPER.writeValueAsBytes(jobs.get(i)));
        }
        List<JobStatus> items = jobs.stream().map(j -> JobStatus.of(j, URL::url)).toList();
        assertThat(new String(JobAnswers.page(stored, "aTo5OQ", URL), StandardCharsets.UTF_8))
                .isEqualTo(KilnJson.MAPPER.writeValueAsString(new StatusResource.ItemsResponse(items, "aTo5OQ")));
        assertThat(new String(JobAnswers.page(stored, null, URL), StandardCharsets.UTF_8))
                .isEqualTo(KilnJson.MAPPER.writeValueAsString(new StatusResource.ItemsResponse(items, null)));
        assertThat(new String(JobAnswers.page(List.of(), null, URL), StandardCharsets.UTF_8))
                .isEqualTo(KilnJson.MAPPER.writeValueAsString(new StatusResource.ItemsResponse(List.of(), null)));
    }

    @Test
    void presignedUrlsSignedIntoThePageAreThoseTheStorePresigns() throws Exception {
        S3Config config = TestS3Config.local();
        ObjectStore store = new ObjectStore(MinioClient.builder().endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey()).region(config.region()).build(), config,
                new StorageHealth(new SimpleMeterRegistry(), config));
        // Keys of tenant "default": plain ones signed in place, the unicode one with a quote as a string.
        List<JobView> jobs = jobs().stream().map(StoredJobTest::ofDefault).toList();
        List<byte[]> stored = jobs.stream().map(StoredJob::encode).toList();
        ObjectUrls presigned = ObjectUrls.presigned(store, "default");
        List<JobStatus> items = jobs.stream().map(j -> JobStatus.of(j, key -> store.presignedGet("default", key))).toList();
        String expected = KilnJson.MAPPER.writeValueAsString(new StatusResource.ItemsResponse(items, null));
        // URLs are signed to the second: try again should a second begin between the two.
        for (int attempt = 0; attempt < 5; attempt++) {
            String answer = new String(JobAnswers.page(stored, null, presigned), StandardCharsets.UTF_8);
            List<JobStatus> again = jobs.stream().map(j -> JobStatus.of(j, key -> store.presignedGet("default", key))).toList();
            String expectedAgain = KilnJson.MAPPER.writeValueAsString(new StatusResource.ItemsResponse(again, null));
            if (expected.equals(expectedAgain)) {
                assertThat(answer).isEqualTo(expected).contains("X-Amz-Signature=");
                assertThatThrownBy(() -> JobAnswers.page(stored, null, ObjectUrls.presigned(store, "acme")))
                        .as("another tenant's keys are not signed").isInstanceOf(IllegalArgumentException.class);
                return;
            }
            expected = expectedAgain;
        }
        throw new AssertionError("the clock kept crossing seconds");
    }

    /** {@code job} with its outputs under tenant {@code default}'s prefix. */
    private static JobView ofDefault(JobView job) {
        List<JobOutput> outputs = job.outputs() == null ? null : job.outputs().stream()
                .map(o -> new JobOutput(o.index(), o.key().replaceFirst("^[^/]+/", "default/"), o.contentType(),
                        o.bytes(), o.width(), o.height(), o.sha256())).toList();
        return new JobView(job.id(), job.batchId(), job.itemId(), job.index(), job.state(), job.attempt(), job.error(),
                outputs, job.usage(), job.createdAt(), job.startedAt(), job.finishedAt(), job.metadata(), job.cached());
    }

    private static List<JobView> jobs() {
        String batch = "b_storedjob";
        Usage usage = new Usage(3, 20, 7, 196, 0.0061, 4, 0);
        List<JobOutput> three = List.of(
                new JobOutput(0, "default/" + batch + "/SKU-1/0.png", "image/png", 1_500_000, 1024, 1536, "a".repeat(64)),
                new JobOutput(1, "default/" + batch + "/SKU-1/1.webp", "image/webp", 900_000, 1536, 1024, "b".repeat(64)),
                new JobOutput(2, "default/" + batch + "/Ünïcode \"q\" sku/2.jpeg", "image/jpeg", 1, 1024, 1024, "c".repeat(64)));
        Map<String, Object> tricky = new LinkedHashMap<>();
        // A client's metadata may look like a URL field; it comes after the outputs.
        tricky.put("url", "");
        tricky.put("outputs", List.of(Map.of("url", "")));
        tricky.put("note", "\"url\":\"\" and \"outputs\":[");
        return List.of(
                new JobView(batch + "-0000000", batch, "SKU-0", 0, JobState.QUEUED, 1, null, null, null, T, null, null,
                        Map.of("row", 0), null),
                new JobView(batch + "-0000001", batch, "SKU-1", 1, JobState.SUCCEEDED, 2, null, three, usage, T, T, T,
                        tricky, Boolean.TRUE),
                new JobView(batch + "-0000002", batch, "a \"url\":\"\" item", 2, JobState.FAILED, 3,
                        new JobError("moderation_blocked", "rejected: \"url\":\"\" {\"outputs\":[", false), null, null,
                        T, T, T, null, null),
                new JobView(batch + "-0000003", batch, null, 3, JobState.RUNNING, 1, null, List.of(three.get(0)), null,
                        T, T, null, Map.of(), null),
                new JobView(batch + "-1234567", batch, "SKU-x", 1_234_567, JobState.CANCELLED, 1, null, List.of(), null,
                        T, null, T, null, null));
    }
}
