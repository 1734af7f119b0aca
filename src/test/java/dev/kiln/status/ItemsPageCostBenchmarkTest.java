package dev.kiln.status;

import dev.kiln.job.JobError;
import dev.kiln.job.JobIds;
import dev.kiln.job.JobOutput;
import dev.kiln.job.JobState;
import dev.kiln.job.Usage;
import dev.kiln.messaging.KilnJson;
import dev.kiln.storage.ObjectKeys;
import dev.kiln.storage.ObjectStore;
import dev.kiln.storage.S3Config;
import dev.kiln.storage.TestS3Config;
import dev.kiln.storage.StorageHealth;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.Http;
import io.minio.MinioClient;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the server's time for one 100-item page of {@code GET /v1/batches/{id}/items} goes, in
 * process and without the stack: the page's steps timed one by one on 100 jobs shaped as
 * {@code StatusReadBenchmarkTest} stages them (90 % succeeded with one output, 1 in 20 failed,
 * the last tenth queued). Steps: decoding the 100 stored job views (what {@link StatusView#items}
 * does after its RocksDB range scan), presigning each output and thumbnail (200 URLs) the way
 * {@link ObjectStore} does now and the MinIO SDK did before, building the {@link JobStatus}
 * records, and serialising the page to JSON; then all of that against what a page costs now, written
 * from the jobs' stored form ({@link StoredJob}, {@link JobAnswers}), in time and in bytes
 * allocated per page (a figure the machine's load does not change). Prints {@code BENCHMARK | …} lines (median and p99
 * per page over the measured rounds) and appends them to {@code target/benchmark-results.md};
 * fails when presigning a page the new way is not faster than the SDK's, or a page written from
 * the stored form is not cheaper than one decoded and encoded, or allocates twice its answer's
 * size or more (URLs are signed into the answer, not made as strings). Tag {@code benchmark}:
 * {@code mvn test -Pbench -Dtest=ItemsPageCostBenchmarkTest}.
 */
@Tag("benchmark")
class ItemsPageCostBenchmarkTest {

    private static final int ITEMS = 100;
    private static final int WARM_UP = 300;
    private static final int ROUNDS = 500;

    @Test
    void timesEachStepOfAHundredItemPage() throws Exception {
        S3Config config = TestS3Config.local();
        MinioClient sdk = MinioClient.builder().endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey()).region(config.region()).build();
        ObjectStore store = new ObjectStore(sdk, config, new StorageHealth(new SimpleMeterRegistry(), config));
        List<byte[]> stored = storedJobs();
        List<byte[]> storedNow = new ArrayList<>();
        for (byte[] bytes : stored) {
            storedNow.add(StoredJob.encode(KilnJson.MAPPER.readValue(bytes, JobView.class)));
        }
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

        List<List<Long>> micros = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
                new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        List<Long> bytesBefore = new ArrayList<>();
        List<Long> bytesNow = new ArrayList<>();
        List<Long> cpuNow = new ArrayList<>();
        long answerBytes = 0;
        for (int round = 0; round < WARM_UP + ROUNDS; round++) {
            long a0 = threads.getCurrentThreadAllocatedBytes();
            long t0 = System.nanoTime();
            List<JobView> page = new ArrayList<>(ITEMS);
            for (byte[] bytes : stored) {
                page.add(KilnJson.MAPPER.readValue(bytes, JobView.class));
            }
            long t1 = System.nanoTime();
            long a1 = threads.getCurrentThreadAllocatedBytes();
            for (JobView job : page) {
                for (JobOutput o : outputs(job)) {
                    sdk.getPresignedObjectUrl(args(config, o.key()));
                    sdk.getPresignedObjectUrl(args(config, ObjectKeys.thumbnail(o.key())));
                }
            }
            long a2 = threads.getCurrentThreadAllocatedBytes();
            long t2 = System.nanoTime();
            for (JobView job : page) {
                for (JobOutput o : outputs(job)) {
                    store.presignedGet("default", o.key());
                    store.presignedGet("default", ObjectKeys.thumbnail(o.key()));
                }
            }
            long t3 = System.nanoTime();
            List<JobStatus> items = page.stream().map(job -> JobStatus.of(job, store, "default")).toList();
            long t4 = System.nanoTime();
            byte[] json = KilnJson.MAPPER.writeValueAsBytes(new StatusResource.ItemsResponse(items, "aTo5OQ"));
            long t5 = System.nanoTime();
            long a5 = threads.getCurrentThreadAllocatedBytes();
            // Now: the page written from the stored form, URLs signed into it. Also its CPU time,
            // which the machine's load changes less than the time between two clock readings.
            long c5 = threads.getCurrentThreadCpuTime();
            byte[] answer = JobAnswers.page(storedNow, "aTo5OQ", ObjectUrls.presigned(store, "default"));
            long t6 = System.nanoTime();
            long a6 = threads.getCurrentThreadAllocatedBytes();
            long c6 = threads.getCurrentThreadCpuTime();
            assertThat(json.length).isGreaterThan(ITEMS * 100);
            answerBytes = answer.length;
            assertThat(answer.length).as("the same page, give or take the URLs' signing second").isBetween(json.length - 400, json.length + 400);
            if (round >= WARM_UP) {
                micros.get(5).add((t1 - t0 + t5 - t2) / 1_000);
                micros.get(6).add((t6 - t5) / 1_000);
                bytesBefore.add(a1 - a0 + a5 - a2);
                bytesNow.add(a6 - a5);
                cpuNow.add((c6 - c5) / 1_000);
                micros.get(0).add((t1 - t0) / 1_000);
                micros.get(1).add((t2 - t1) / 1_000);
                micros.get(2).add((t3 - t2) / 1_000);
                micros.get(3).add((t4 - t3) / 1_000);
                micros.get(4).add((t5 - t4) / 1_000);
            }
        }

        String load = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        List<String> lines = List.of(
                "BENCHMARK | one 100-item page, in process, per page over %d rounds; load average %s".formatted(ROUNDS, load),
                figure("decode 100 stored job views (JSON)", micros.get(0)),
                figure("presign 200 URLs with the MinIO SDK (before)", micros.get(1)),
                figure("presign 200 URLs with ObjectStore.presignedGet (SigV4Presigner)", micros.get(2)),
                figure("build 100 JobStatus, their 200 URLs included", micros.get(3)),
                figure("serialise the page to JSON", micros.get(4)),
                figure("before, all of it: decode, presign, build, serialise", micros.get(5))
                        + " | allocated p50 %d KiB".formatted(percentile(bytesBefore, 50) / 1024),
                figure("now: the page written from the stored form (StoredJob, JobAnswers), URLs signed into it", micros.get(6))
                        + " | allocated p50 %d KiB (the answer: %d KiB) | CPU p50 %.2f ms".formatted(
                        percentile(bytesNow, 50) / 1024, answerBytes / 1024, percentile(cpuNow, 50) / 1000.0));
        lines.forEach(System.out::println);
        Files.writeString(Path.of("target", "benchmark-results.md"), String.join("\n", lines) + "\n",
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);

        assertThat(percentile(micros.get(2), 50)).as("a page's presigning, new vs SDK, median µs")
                .isLessThan(percentile(micros.get(1), 50));
        assertThat(percentile(bytesNow, 50)).as("bytes allocated per page, now vs before")
                .isLessThan(percentile(bytesBefore, 50));
        // The answer itself, copied out once, is what a page allocates: no string per URL, no
        // buffer grown and copied (the 200 URLs were some 390 KiB of it).
        assertThat(percentile(bytesNow, 50)).as("bytes allocated per page vs the page's own size")
                .isLessThan(2L * answerBytes);
        assertThat(percentile(micros.get(6), 50)).as("a page in process, now vs before, median µs")
                .isLessThan(percentile(micros.get(5), 50));
    }

    private static List<JobOutput> outputs(JobView job) {
        return job.outputs() == null ? List.of() : job.outputs();
    }

    private static GetPresignedObjectUrlArgs args(S3Config config, String key) {
        return GetPresignedObjectUrlArgs.builder().method(Http.Method.GET).bucket(config.bucket()).object(key)
                .expiry((int) config.presignExpiry().toSeconds()).build();
    }

    /** 100 job views as the status view stores them. */
    private static List<byte[]> storedJobs() throws Exception {
        String batch = "b_pagecost";
        Instant t = Instant.parse("2026-11-30T08:00:00Z");
        List<byte[]> stored = new ArrayList<>();
        for (int i = 0; i < ITEMS; i++) {
            String item = "SKU-" + i;
            boolean queued = i >= ITEMS - ITEMS / 10;
            boolean failed = !queued && i % 20 == 7;
            JobView job = new JobView(JobIds.jobId(batch, i), batch, item, i,
                    queued ? JobState.QUEUED : failed ? JobState.FAILED : JobState.SUCCEEDED, 1,
                    failed ? new JobError("moderation_blocked", "Your request was rejected by the safety system.", false) : null,
                    queued || failed ? null : List.of(new JobOutput(0, "default/" + batch + "/" + item + "/0.png",
                            "image/png", 1_500_000, 1024, 1024, "%064x".formatted(i))),
                    queued || failed ? null : new Usage(1, 20, 0, 196, 0.0061), t, queued ? null : t,
                    queued ? null : t, Map.of("row", i), null);
            stored.add(KilnJson.MAPPER.writeValueAsBytes(job));
        }
        return stored;
    }

    private static String figure(String what, List<Long> micros) {
        return "BENCHMARK | %s | p50 %.2f ms | p99 %.2f ms".formatted(what, percentile(micros, 50) / 1000.0,
                percentile(micros, 99) / 1000.0);
    }

    private static long percentile(List<Long> values, int p) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(Math.max(0, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
}
