package dev.kiln.provider;

import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * A batch played on simulated time against the real {@link RenderPermits}, {@link RateShare#share}
 * and {@link ConcurrencyTarget}: the dispatcher's window, workers with their slots and permits, and
 * a provider with the organisation's token bucket that answers {@code x-ratelimit-remaining-images}
 * as counted when each call arrived, a render before the answer. Thousands of simulated seconds
 * run in milliseconds, so the figures do not depend on the machine's load: the diagnosis of where
 * a batch's time goes (the benchmarks' "about one burst") and the tests that keep it gone.
 *
 * <p>Modelled: the window's release of each job to a random partition, the dispatcher seeing a start
 * {@code releaseDelay} later, each worker's slots from {@link ConcurrencyTarget} (at a planned
 * latency of the mean plus 0.9 of the spread, as a p90 would give), its permits and 429 handling,
 * the shares from the backlog every 2 s with offsets committed every second, a growth applied a
 * tenth of a period after the read ({@link ShareChange}). Left out on purpose:
 * Kafka's own delays beyond those, S3, the status topic, CPU.
 */
final class PermitsSimulation {

    private static final long STEP = 10_000_000L;   // 10 ms
    private static final int PARTITIONS = 12;
    private static final long COMMIT_INTERVAL = 1_000_000_000L;
    /** Every job of a run is 1024×1024 at low quality, as in the benchmarks. */
    private static final LatencyTracker.LatencyClass LOW = new LatencyTracker.LatencyClass("low", 1);
    /** {@code kiln.concurrency.latency-seed}'s defaults. */
    private static final ConcurrencyConfig.Seeds SEEDS = ConcurrencyConfig.Seeds.fixed(Duration.ofSeconds(20),
            Duration.ofSeconds(45), Duration.ofSeconds(120), Duration.ofSeconds(120));

    /**
     * One run's settings.
     *
     * @param images           images in the batch, one a call
     * @param ipm              the organisation's images per minute, Kiln's and the provider's
     * @param burst            the burst, Kiln's and the provider's bucket
     * @param workers          worker processes sharing the limit (partitions split evenly)
     * @param meanLatencyMs    the provider's mean latency
     * @param spreadLatencyMs  ± uniform around the mean
     * @param kilnBurstSpent   whether the workers' own buckets start empty (a batch right after
     *                         another) while the provider's starts full (its window refilled)
     * @param releaseDelay     from a job's start to the dispatcher's release of the next one
     * @param seed             the random draws (latencies, partitions)
     * @param learnLatency     whether each worker's target comes from a {@link LatencyTracker} (else
     *                         a fixed planned latency, up to 32 calls)
     * @param coldStart        calls granted before this reach the provider only then, together
     * @param placedByHash     whether released jobs land on a partition by their key's hash (random
     *                         here), as before the dispatcher placed them in turn ({@code EvenJobPlacement})
     */
    record Settings(int images, double ipm, Duration burst, int workers, long meanLatencyMs, long spreadLatencyMs,
                    boolean kilnBurstSpent, Duration releaseDelay, long seed, boolean learnLatency, Duration coldStart,
                    boolean placedByHash) {

        static Settings dispatchBenchmark() {
            return new Settings(600, 300, Duration.ofSeconds(10), 3, 3000, 1000, false, Duration.ofMillis(500), 7, false, Duration.ZERO, false);
        }

        /**
         * The concurrency benchmark's figures ({@code ConcurrencyBenchmarkIT}): 600 images at 300 IPM,
         * a 10 s burst, the given latency ± 10 %, and the workers' targets from a {@link LatencyTracker}
         * seeded at low quality's 20 s up to the default ceiling of 512, as Kiln's defaults run.
         */
        static Settings concurrencyBenchmark(int workers, long meanLatencyMs) {
            return new Settings(600, 300, Duration.ofSeconds(10), workers, meanLatencyMs, meanLatencyMs / 10, false,
                    Duration.ofMillis(500), 7, true, Duration.ZERO, false);
        }

        /**
         * A cold worker: every call granted in the first {@code delay} reaches the provider only
         * then, all together (the benchmark's fresh workers: their first calls reached the simulator
         * about 3 s after their permits).
         */
        Settings withColdStart(Duration delay) {
            return new Settings(images, ipm, burst, workers, meanLatencyMs, spreadLatencyMs, kilnBurstSpent, releaseDelay, seed,
                    learnLatency, delay, placedByHash);
        }

        /** Released jobs placed by their key's hash, as before {@code EvenJobPlacement}. */
        Settings withJobsPlacedByHash() {
            return new Settings(images, ipm, burst, workers, meanLatencyMs, spreadLatencyMs, kilnBurstSpent, releaseDelay, seed,
                    learnLatency, coldStart, true);
        }

        Settings withKilnBurstSpent(boolean spent) {
            return new Settings(images, ipm, burst, workers, meanLatencyMs, spreadLatencyMs, spent, releaseDelay, seed, learnLatency,
                    coldStart, placedByHash);
        }

        Settings withWorkers(int count) {
            return new Settings(images, ipm, burst, count, meanLatencyMs, spreadLatencyMs, kilnBurstSpent, releaseDelay, seed,
                    learnLatency, coldStart, placedByHash);
        }

        Settings withLatency(long meanMs, long spreadMs) {
            return new Settings(images, ipm, burst, workers, meanMs, spreadMs, kilnBurstSpent, releaseDelay, seed, learnLatency, coldStart,
                    placedByHash);
        }

        Settings withSeed(long newSeed) {
            return new Settings(images, ipm, burst, workers, meanLatencyMs, spreadLatencyMs, kilnBurstSpent, releaseDelay, newSeed,
                    learnLatency, coldStart, placedByHash);
        }

        /** The benchmarks' bound: {@code (N − burst) / IPM + latency}, in seconds. */
        double bound() {
            double burstImages = ipm / 60 * burst.toMillis() / 1000.0;
            return (images - burstImages) / ipm * 60 + meanLatencyMs / 1000.0;
        }
    }

    /**
     * What a run came to.
     *
     * @param makespan        seconds from the first release to the last answer
     * @param calls           calls made, 429s included
     * @param rateLimited     calls answered 429
     * @param startsPerSecond calls the provider accepted in each second of the run
     * @param busiestTenSeconds the most images the workers' permits granted together in any 10 s
     * @param everyFiveSeconds a line every 5 s: calls accepted since, calls at the provider, and per
     *                         worker its target, slots in use, jobs fetched without a slot, share
     */
    record Result(double makespan, int calls, int rateLimited, int[] startsPerSecond, int busiestTenSeconds,
                  String everyFiveSeconds) {

        double utilisation(Settings settings) {
            return settings.bound() / makespan;
        }

        /** Calls accepted in the first {@code seconds} seconds. */
        int startedWithin(int seconds) {
            int sum = 0;
            for (int i = 0; i < Math.min(seconds, startsPerSecond.length); i++) {
                sum += startsPerSecond[i];
            }
            return sum;
        }

        /** Accepted calls per second, first and last {@code seconds}: the diagnosis. */
        String timeline(int seconds) {
            StringBuilder text = new StringBuilder("first " + seconds + " s:");
            for (int i = 0; i < Math.min(seconds, startsPerSecond.length); i++) {
                text.append(' ').append(startsPerSecond[i]);
            }
            text.append(" | last ").append(seconds).append(" s:");
            for (int i = Math.max(0, startsPerSecond.length - seconds); i < startsPerSecond.length; i++) {
                text.append(' ').append(startsPerSecond[i]);
            }
            return text.toString();
        }
    }

    private record InTransit(long arriveAtNanos, int worker, int partition, RenderPermits.Permit permit) {
    }

    private record Answer(long atNanos, int worker, RenderPermits.Permit permit, long remaining, LatencyTracker.Call call) {
    }

    private static final class Worker {
        final RenderPermits permits;
        final Set<TopicPartition> owned;
        final Deque<Integer> queue = new ArrayDeque<>();          // partition of each fetched job
        final Deque<Integer> awaitingPermit = new ArrayDeque<>();
        final int[] backlog = new int[PARTITIONS];
        final LatencyTracker latencies;
        double growTo;
        long growAt = Long.MAX_VALUE;
        int inSlot;
        int target;

        Worker(RenderPermits permits, Set<TopicPartition> owned, LatencyTracker latencies) {
            this.permits = permits;
            this.owned = owned;
            this.latencies = latencies;
        }
    }

    private PermitsSimulation() {
    }

    static Result run(Settings settings) {
        long[] now = {0};
        RateConfig config = config(settings);
        Random random = new Random(settings.seed());
        double perSecond = settings.ipm() / 60;
        double capacity = perSecond * settings.burst().toMillis() / 1000.0;
        double[] provider = {capacity};
        long[] providerRefilled = {0};

        List<Worker> workers = new ArrayList<>();
        List<TopicPartition> all = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            all.add(new TopicPartition("kiln.jobs", p));
        }
        for (int w = 0; w < settings.workers(); w++) {
            int index = w;
            Set<TopicPartition> owned = Set.copyOf(all.stream().filter(tp -> tp.partition() % settings.workers() == index).toList());
            RenderPermits permits = new RenderPermits(config, () -> now[0]);
            permits.setShare((double) owned.size() / PARTITIONS);
            if (settings.kilnBurstSpent()) {
                while (permits.tryAcquire(1, now[0]) == 0) {
                    // spend what this worker's bucket holds
                }
            }
            workers.add(new Worker(permits, owned, new LatencyTracker(50, 0.9, SEEDS, () -> now[0])));
        }
        IntFunction<Integer> ownerOf = partition -> partition % settings.workers();
        // Kiln's defaults (ConcurrencyConfig, KILN_WORKER_MAX_IN_FLIGHT) when the latency is learned.
        ConcurrencyTarget slots = settings.learnLatency() ? new ConcurrencyTarget(1.25, 4, 512, 16)
                : new ConcurrencyTarget(1.25, 4, 32, 16);
        double plannedLatency = (settings.meanLatencyMs() + 0.9 * settings.spreadLatencyMs()) / 1000.0;
        int window = (int) Math.ceil(perSecond * (5 + 0.25 * settings.burst().toMillis() / 1000.0) - 1e-9);

        PriorityQueue<Answer> answers = new PriorityQueue<>((a, b) -> Long.compare(a.atNanos(), b.atNanos()));
        Deque<Long> startsSeenAt = new ArrayDeque<>();
        int pending = settings.images();
        int unstarted = 0;
        int done = 0;
        int calls = 0;
        int limited = 0;
        long lastAnswer = 0;
        long nextShare = 0;
        Map<Integer, Integer> starts = new HashMap<>();
        List<Long> grants = new ArrayList<>();
        Map<RenderPermits.Permit, Integer> pendingCommit = new IdentityHashMap<>();
        Deque<long[]> uncommitted = new ArrayDeque<>();   // {committed at, worker, partition}
        long releaseDelay = settings.releaseDelay().toNanos();
        StringBuilder timeline = new StringBuilder("    t | calls | at provider | per worker: target slots fetched share\n");
        long nextLine = 0;
        int startedBefore = 0;
        List<InTransit> inTransit = new ArrayList<>();
        long coldStart = settings.coldStart().toNanos();
        int released = 0;

        while (done < settings.images()) {
            if (now[0] > Duration.ofHours(2).toNanos()) {
                throw new IllegalStateException("the simulated batch did not end");
            }
            // The provider's bucket refills.
            provider[0] = Math.min(capacity, provider[0] + (now[0] - providerRefilled[0]) / 1e9 * perSecond);
            providerRefilled[0] = now[0];
            // Answers due.
            while (!answers.isEmpty() && answers.peek().atNanos() <= now[0]) {
                Answer answer = answers.poll();
                Worker worker = workers.get(answer.worker());
                worker.permits.onAnswered(remaining(answer.remaining()), answer.permit());
                answer.call().succeeded();
                worker.inSlot--;
                // The offset is committed within a second (auto.commit.interval.ms); until then the
                // job still counts in the partition's backlog, as RateShare reads it.
                long commitAt = (now[0] / COMMIT_INTERVAL + 1) * COMMIT_INTERVAL;
                uncommitted.add(new long[] {commitAt, answer.worker(), pendingCommit.remove(answer.permit())});
                done++;
                lastAnswer = now[0];
            }
            while (!uncommitted.isEmpty() && uncommitted.peek()[0] <= now[0]) {
                long[] commit = uncommitted.poll();
                workers.get((int) commit[1]).backlog[(int) commit[2]]--;
            }
            // A cold worker's calls arrive together.
            for (var it = inTransit.iterator(); it.hasNext(); ) {
                InTransit call = it.next();
                if (call.arriveAtNanos() > now[0]) {
                    continue;
                }
                it.remove();
                Worker worker = workers.get(call.worker());
                // The call goes out now, as ImagesApiClient tells the permits.
                worker.permits.sent(call.permit());
                if (provider[0] >= 1 - 1e-9) {
                    provider[0] -= 1;
                    pendingCommit.put(call.permit(), call.partition());
                    long latency = settings.meanLatencyMs() + (long) ((random.nextDouble() * 2 - 1) * settings.spreadLatencyMs());
                    answers.add(new Answer(now[0] + latency * 1_000_000L, call.worker(), call.permit(), (long) Math.floor(provider[0]),
                            worker.latencies.start(LOW)));
                    starts.merge((int) (now[0] / 1_000_000_000L), 1, Integer::sum);
                } else {
                    limited++;
                    worker.permits.onRateLimited();
                    worker.awaitingPermit.addFirst(call.partition());
                }
            }
            // The dispatcher sees starts after its delay and keeps the window full.
            while (!startsSeenAt.isEmpty() && startsSeenAt.peek() <= now[0]) {
                startsSeenAt.poll();
                unstarted--;
            }
            while (pending > 0 && unstarted < window) {
                // The dispatcher places released jobs in turn (EvenJobPlacement); by hash, a random partition.
                int partition = settings.placedByHash() ? random.nextInt(PARTITIONS) : (released++) % PARTITIONS;
                Worker owner = workers.get(ownerOf.apply(partition));
                owner.queue.add(partition);
                owner.backlog[partition]++;
                pending--;
                unstarted++;
            }
            // Shares from the backlog every 2 s, as RateShare reads it.
            if (now[0] >= nextShare) {
                Map<TopicPartition, Long> backlog = new HashMap<>();
                for (Worker worker : workers) {
                    for (TopicPartition tp : worker.owned) {
                        backlog.put(tp, (long) worker.backlog[tp.partition()]);
                    }
                }
                // As RateShare applies them (ShareChange): a shrink at once, a growth a tenth of a period later.
                for (Worker worker : workers) {
                    double read = RateShare.share(worker.owned, backlog);
                    worker.permits.setShare(ShareChange.atOnce(worker.permits.share(), read));
                    if (read > worker.permits.share()) {
                        worker.growTo = read;
                        worker.growAt = ShareChange.growsAt(now[0] / 1_000_000L, 2_000) * 1_000_000L;
                    }
                }
                nextShare = now[0] + Duration.ofSeconds(2).toNanos();
            }
            // Workers: jobs into slots, slots to permits, permits to calls.
            for (int w = 0; w < workers.size(); w++) {
                Worker worker = workers.get(w);
                if (now[0] >= worker.growAt) {
                    worker.permits.setShare(worker.growTo);
                    worker.growAt = Long.MAX_VALUE;
                }
                double planned = settings.learnLatency()
                        ? worker.latencies.latency(LOW).toNanos() / 1e9 : plannedLatency;
                worker.target = slots.target(worker.permits.callsPerSecond(1), planned);
                while (worker.inSlot < worker.target && !worker.queue.isEmpty()) {
                    worker.awaitingPermit.add(worker.queue.poll());
                    worker.inSlot++;
                    startsSeenAt.add(now[0] + releaseDelay);
                }
                while (!worker.awaitingPermit.isEmpty() && worker.permits.tryAcquire(1, now[0]) == 0) {
                    RenderPermits.Permit permit = worker.permits.granted(1);
                    grants.add(now[0]);
                    calls++;
                    if (now[0] < coldStart) {
                        inTransit.add(new InTransit(coldStart, w, worker.awaitingPermit.poll(), permit));
                        continue;
                    }
                    worker.permits.sent(permit);
                    // A hair of tolerance: a bucket refilled in steps of 10 ms misses a whole image by rounding.
                    if (provider[0] >= 1 - 1e-9) {
                        provider[0] -= 1;
                        int partition = worker.awaitingPermit.poll();
                        pendingCommit.put(permit, partition);
                        long latency = settings.meanLatencyMs()
                                + (long) ((random.nextDouble() * 2 - 1) * settings.spreadLatencyMs());
                        answers.add(new Answer(now[0] + latency * 1_000_000L, w, permit, (long) Math.floor(provider[0]),
                                worker.latencies.start(LOW)));
                        starts.merge((int) (now[0] / 1_000_000_000L), 1, Integer::sum);
                    } else {
                        limited++;
                        worker.permits.onRateLimited();
                    }
                }
            }
            if (now[0] >= nextLine) {
                int started = calls - limited;
                timeline.append("%5d | %5d | %11d |".formatted(now[0] / 1_000_000_000L, started - startedBefore, answers.size()));
                for (Worker worker : workers) {
                    timeline.append(" %3d %3d %3d %.2f |".formatted(worker.target, worker.inSlot, worker.queue.size(), worker.permits.share()));
                }
                timeline.append('\n');
                startedBefore = started;
                nextLine += Duration.ofSeconds(5).toNanos();
            }
            now[0] += STEP;
        }
        int seconds = (int) (lastAnswer / 1_000_000_000L) + 1;
        int[] perSecondStarts = new int[seconds];
        starts.forEach((second, count) -> perSecondStarts[Math.min(second, seconds - 1)] += count);
        long busiest = 0;
        for (int first = 0, last = 0; last < grants.size(); last++) {
            while (grants.get(last) - grants.get(first) >= Duration.ofSeconds(10).toNanos()) {
                first++;
            }
            busiest = Math.max(busiest, last - first + 1);
        }
        return new Result(lastAnswer / 1e9, calls, limited, perSecondStarts, (int) busiest, timeline.toString());
    }

    private static RateLimitHeaders remaining(long images) {
        return new RateLimitHeaders(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.of(images),
                Optional.empty(), Optional.empty(), Optional.empty());
    }

    private static RateConfig config(Settings settings) {
        return new RateConfig() {
            @Override
            public double ipm() {
                return settings.ipm();
            }

            @Override
            public double rpm() {
                return 0;
            }

            @Override
            public double tpm() {
                return 0;
            }

            @Override
            public Duration burst() {
                return settings.burst();
            }

            @Override
            public Duration arrivalMargin() {
                // As in production (RateConfig's default), so that the figures are the product's.
                return Duration.ofMillis(250);
            }

            @Override
            public Duration shareRefresh() {
                return Duration.ofSeconds(2);
            }

            @Override
            public double minThrottle() {
                return 0.25;
            }
        };
    }
}
