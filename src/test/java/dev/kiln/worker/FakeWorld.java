package dev.kiln.worker;

import dev.kiln.image.CheckedImage;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobOutput;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.job.Usage;
import dev.kiln.messaging.InstanceIdentity;
import dev.kiln.messaging.KafkaClientConfig;
import dev.kiln.messaging.StatusPublisher;
import dev.kiln.messaging.TopicsConfig;
import dev.kiln.provider.ConcurrencyConfig;
import dev.kiln.provider.ImagesProvider;
import dev.kiln.provider.LatencyTracker;
import dev.kiln.provider.PriceConfig;
import dev.kiln.provider.ProviderAccess;
import dev.kiln.provider.ProviderAnswer;
import dev.kiln.provider.ProviderFailure;
import dev.kiln.provider.ProviderUsage;
import dev.kiln.provider.RateConfig;
import dev.kiln.provider.RateLimitHeaders;
import dev.kiln.provider.RenderPermits;
import dev.kiln.provider.RenderedImages;
import dev.kiln.reference.FetchedReferences;
import dev.kiln.reference.ReferenceFetcher;
import dev.kiln.storage.OutputUploader;
import dev.kiln.storage.S3Config;
import dev.kiln.storage.StorageException;
import dev.kiln.storage.StorageHealth;
import dev.kiln.testing.TestImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.mutiny.Uni;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link RenderJobProcessor} wired to fakes of everything outside the JVM: a scripted provider,
 * a bucket in a map that can be made to fail, and a status topic in a list. No Quarkus, no
 * network; each decision is tested in milliseconds.
 */
final class FakeWorld {

    static final int MAX_ATTEMPTS = 3;
    static final Duration FIRST_RETRY_DELAY = Duration.ofMillis(100);
    static final List<String> RETRY_TOPICS = List.of("kiln.jobs.retry_300", "kiln.jobs.retry_600", "kiln.jobs.retry_900");

    final ScriptedProvider provider = new ScriptedProvider();
    final FakeBucket bucket = new FakeBucket();
    final List<JobStatusChanged> events = new CopyOnWriteArrayList<>();
    final AtomicInteger statusFailuresToCome = new AtomicInteger();
    final ProviderAccess access = new ProviderAccess();
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final GracefulShutdown shutdown;
    final StorageHealth storageHealth;
    final WorkFolders folders;
    final RetryPolicy policy;
    final RenderJobProcessor processor;
    final Path workDir;

    FakeWorld(Path workDir) {
        this.workDir = workDir;
        WorkerConfig config = workerConfig(workDir);
        shutdown = new GracefulShutdown(null, config, null);
        storageHealth = new StorageHealth(registry, s3Config());
        policy = new RetryPolicy(config, topicsConfig());
        InFlightJobs inFlight = new InFlightJobs(config, registry);
        folders = new WorkFolders(config);
        StatusPublisher status = new StatusPublisher(null) {
            @Override
            public Uni<Void> jobChanged(JobStatusChanged event) {
                if (statusFailuresToCome.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    return Uni.createFrom().failure(new IllegalStateException("broker unreachable"));
                }
                events.add(event);
                return Uni.createFrom().voidItem();
            }
        };
        PatientCalls patiently = new PatientCalls(policy, shutdown, storageHealth, status, inFlight);
        WorkerMetrics metrics = new WorkerMetrics(registry);
        ProviderCalls calls = new ProviderCalls(provider, new RenderPermits(rateConfig()), access, policy, shutdown,
                metrics, inFlight, new LatencyTracker(50, 0.9, latencySeeds(), System::nanoTime),
                dev.kiln.provider.TokenPermits.unlimited());
        InFlightLimiter slots = new InFlightLimiter(() -> 16, job -> { }, shutdown::isDraining);
        processor = new RenderJobProcessor(bucket, new NoReferences(), calls, new OutputChecker(), folders, patiently,
                policy, priceConfig(), metrics, new InstanceIdentity(kafkaClientConfig(), 8080), cancels,
                CachedRenders.disabled(patiently), slots, dev.kiln.economy.EconomyLane.off());
    }

    /** Cancels the fake control topic holds: none unless a test adds one. */
    final java.util.Map<String, dev.kiln.job.CancelRequested> cancelled = new java.util.concurrent.ConcurrentHashMap<>();
    private final Cancels cancels = job -> java.util.Optional.ofNullable(cancelled.get(job.batchId()));

    /** A 1024x1024 low-quality PNG job at {@code attempt}. */
    static RenderJobRequested job(int attempt) {
        return new RenderJobRequested("b1-000000", "b1", "default", "SKU-1", 0, "a mug",
                new ImageParameters("gpt-image-2", "1024x1024", "low", null, null, null, null, null, null),
                List.of(), null, Map.of(), attempt, Instant.now());
    }

    /** The states announced, in order. */
    List<JobState> states() {
        return events.stream().map(JobStatusChanged::state).toList();
    }

    JobStatusChanged lastEvent() {
        return events.getLast();
    }

    /** The provider, scripted call by call; each call takes the next step of the script. */
    static final class ScriptedProvider implements ImagesProvider {

        interface Step {
            ProviderAnswer answer(Path workDir) throws InterruptedException;
        }

        private final Deque<Step> script = new ArrayDeque<>();
        final AtomicInteger calls = new AtomicInteger();

        ScriptedProvider then(Step step) {
            script.add(step);
            return this;
        }

        @Override
        public ProviderAnswer generate(String user, String prompt, ImageParameters parameters, Path workDir, Runnable sent)
                throws InterruptedException {
            sent.run();
            calls.incrementAndGet();
            Step step = script.isEmpty() ? png(1024, 1024) : script.poll();
            return step.answer(workDir);
        }

        @Override
        public ProviderAnswer edit(String user, String prompt, ImageParameters parameters, FetchedReferences references, Path workDir,
                                   Runnable sent) throws InterruptedException {
            return generate(user, prompt, parameters, workDir, sent);
        }

        private static final Map<Integer, byte[]> PNGS = new java.util.concurrent.ConcurrentHashMap<>();

        /** Encoding a 1024² PNG takes a tenth of a second; each size is made once. */
        private static byte[] pngBytes(int width, int height) {
            return PNGS.computeIfAbsent(width * 100_000 + height, k -> TestImages.png(width, height));
        }

        static Step png(int width, int height) {
            return dir -> rendered(dir, pngBytes(width, height));
        }

        static Step truncatedPng() {
            return dir -> {
                byte[] whole = pngBytes(1024, 1024);
                return rendered(dir, java.util.Arrays.copyOf(whole, whole.length - 40));
            };
        }

        static Step failure(ProviderFailure.Kind kind, String code, String message) {
            return dir -> new ProviderAnswer.Failed(new ProviderFailure(kind, code, message, kind == ProviderFailure.Kind.RATE_LIMITED
                    ? Duration.ofMillis(10) : null));
        }

        static Step interrupted() {
            return dir -> {
                throw new InterruptedException("shutdown");
            };
        }

        static Step crash() {
            return dir -> {
                throw new IllegalStateException("a bug");
            };
        }

        private static ProviderAnswer rendered(Path dir, byte[] bytes) {
            try {
                Path file = Files.write(dir.resolve("image-0"), bytes);
                return new ProviderAnswer.Rendered(new RenderedImages(List.of(file), new ProviderUsage(10, 0, 272),
                        RateLimitHeaders.none()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** S3 as a map of keys; calls fail while {@code failures} says so. */
    static final class FakeBucket extends OutputUploader {

        final Map<String, JobOutput> objects = new java.util.concurrent.ConcurrentHashMap<>();
        final AtomicInteger lookupFailuresToCome = new AtomicInteger();
        final AtomicInteger storeFailuresToCome = new AtomicInteger();
        volatile boolean down;
        final AtomicInteger puts = new AtomicInteger();
        final List<Boolean> storeCalls = new CopyOnWriteArrayList<>();

        FakeBucket() {
            super(null);
        }

        @Override
        public Optional<StoredResult> findComplete(RenderJobRequested job) {
            if (down || lookupFailuresToCome.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new StorageException("cannot stat " + keyOf(job, 0), new java.net.ConnectException("refused"));
            }
            JobOutput output = objects.get(keyOf(job, 0));
            return output == null ? Optional.empty() : Optional.of(new StoredResult(List.of(output), Usage.ZERO));
        }

        @Override
        public List<JobOutput> storeAll(RenderJobRequested job, List<CheckedImage> images, Usage usage, boolean afterFailure) {
            storeCalls.add(afterFailure);
            if (down || storeFailuresToCome.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new StorageException("cannot store " + keyOf(job, 0), new java.net.SocketTimeoutException("timeout"));
            }
            List<JobOutput> stored = new ArrayList<>();
            for (CheckedImage image : images) {
                JobOutput output = new JobOutput(image.index(), keyOf(job, image.index()), "image/png", image.bytes(),
                        image.width(), image.height(), image.sha256());
                objects.put(output.key(), output);
                puts.incrementAndGet();
                stored.add(output);
            }
            return stored;
        }
    }

    /** Generations only: no reference to fetch. */
    static class NoReferences extends ReferenceFetcher {
        NoReferences() {
            super(null, null, null);
        }

        @Override
        public FetchedReferences fetch(RenderJobRequested job, Path workDir) {
            return FetchedReferences.NONE;
        }
    }

    static WorkerConfig workerConfig(Path workDir) {
        return new WorkerConfig() {
            public int maxInFlight() { return 4; }
            public int maxAttempts() { return MAX_ATTEMPTS; }
            public Duration firstRetryDelay() { return FIRST_RETRY_DELAY; }
            public Duration maxRateLimitWait() { return Duration.ofMillis(50); }
            public double retryJitter() { return 0.2; }
            public Duration shutdownDeadline() { return Duration.ofSeconds(1); }
            public String workDir() { return workDir.toString(); }
            public Duration keptRenderRetention() { return Duration.ofDays(2); }
            public Duration stuckAfter() { return Duration.ofMinutes(10); }
            public Backoff storageBackoff() {
                return new Backoff() {
                    public Duration initial() { return Duration.ofMillis(1); }
                    public Duration max() { return Duration.ofMillis(5); }
                };
            }
        };
    }

    private static TopicsConfig topicsConfig() {
        return new TopicsConfig() {
            public boolean create() { return false; }
            public int jobsPartitions() { return 12; }
            public int statusPartitions() { return 6; }
            public int dispatchPartitions() { return 1; }
            public int tenantsPartitions() { return 1; }
            public Optional<Short> replicationFactor() { return Optional.empty(); }
            public List<String> retryTopics() { return RETRY_TOPICS; }
        };
    }

    private static S3Config s3Config() {
        return new S3Config() {
            public String endpoint() { return "http://s3.invalid"; }
            public java.util.Optional<String> publicEndpoint() { return java.util.Optional.empty(); }
            public String accessKey() { return "a"; }
            public String secretKey() { return "s"; }
            public String bucket() { return "kiln"; }
            public String region() { return "us-east-1"; }
            public Duration presignExpiry() { return Duration.ofHours(1); }
            public boolean createBucket() { return false; }
            public Duration connectTimeout() { return Duration.ofSeconds(1); }
            public Duration readTimeout() { return Duration.ofSeconds(1); }
            public Duration writeTimeout() { return Duration.ofSeconds(1); }
            public Duration callTimeout() { return Duration.ofSeconds(1); }
            public Duration healthInterval() { return Duration.ofSeconds(1); }
        };
    }

    private static ConcurrencyConfig.Seeds latencySeeds() {
        return ConcurrencyConfig.Seeds.fixed(Duration.ofSeconds(20), Duration.ofSeconds(45), Duration.ofSeconds(120),
                Duration.ofSeconds(120));
    }

    private static RateConfig rateConfig() {
        return new RateConfig() {
            public double ipm() { return 0; }
            public double rpm() { return 0; }
            public double tpm() { return 0; }
            public Duration burst() { return Duration.ofSeconds(10); }
            public Duration arrivalMargin() { return Duration.ZERO; }
            public Duration shareRefresh() { return Duration.ZERO; }
            public double minThrottle() { return 0.1; }
        };
    }

    private static PriceConfig priceConfig() {
        return new PriceConfig() {
            public double textInputPerMillion() { return 5; }
            public double imageInputPerMillion() { return 8; }
            public double imageOutputPerMillion() { return 30; }
            public double cachedTextInputPerMillion() { return 1.25; }
            public double cachedImageInputPerMillion() { return 2; }
        };
    }

    private static KafkaClientConfig kafkaClientConfig() {
        return new KafkaClientConfig() {
            public Optional<String> instanceId() { return Optional.of("worker-test"); }
            public Duration probeInterval() { return Duration.ofSeconds(5); }
            public Duration probeTimeout() { return Duration.ofSeconds(3); }
        };
    }
}
