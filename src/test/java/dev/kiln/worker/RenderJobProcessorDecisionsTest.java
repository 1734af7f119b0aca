package dev.kiln.worker;

import dev.kiln.job.JobError;
import dev.kiln.job.JobState;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.RenderJobRequested;
import dev.kiln.provider.ProviderFailure.Kind;
import dev.kiln.reference.ReferenceException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.kiln.worker.FakeWorld.ScriptedProvider.crash;
import static dev.kiln.worker.FakeWorld.ScriptedProvider.failure;
import static dev.kiln.worker.FakeWorld.ScriptedProvider.interrupted;
import static dev.kiln.worker.FakeWorld.ScriptedProvider.png;
import static dev.kiln.worker.FakeWorld.ScriptedProvider.truncatedPng;
import static dev.kiln.worker.FakeWorld.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The processor's decisions, one error class at a time, against a fake provider, bucket and
 * status topic: which outcome, which event, whether an attempt is spent and whether the provider
 * is paid again. No Quarkus and no network: the whole class runs in well under a second.
 */
class RenderJobProcessorDecisionsTest {

    @TempDir
    Path workDir;

    private FakeWorld world;

    @BeforeEach
    void createTheWorld() {
        world = new FakeWorld(workDir);
    }

    @Test
    void aGoodAnswerIsStoredAndAnnounced() {
        JobOutcome outcome = world.processor.process(job(1));

        assertThat(outcome).isInstanceOfSatisfying(JobOutcome.Succeeded.class, s -> {
            assertThat(s.alreadyStored()).isFalse();
            assertThat(s.outputs()).singleElement().satisfies(o -> assertThat(o.width()).isEqualTo(1024));
            assertThat(s.usage().costUsd()).isPositive();
        });
        assertThat(world.states()).containsExactly(JobState.RUNNING, JobState.SUCCEEDED);
        assertThat(world.events.getFirst().worker()).as("running names its holder").isEqualTo("worker-test");
        assertThat(world.events.getFirst().since()).isNotNull();
        assertThat(world.bucket.puts).hasValue(1);
        assertThat(workDir).as("the work folder is emptied").isEmptyDirectory();
    }

    @Test
    void aJobWhoseOutputsAreStoredIsOnlyAnnouncedAgain() {
        world.processor.process(job(1));
        world.events.clear();

        JobOutcome again = world.processor.process(job(1));

        assertThat(again).isInstanceOfSatisfying(JobOutcome.Succeeded.class, s -> assertThat(s.alreadyStored()).isTrue());
        assertThat(world.provider.calls).as("never paid twice").hasValue(1);
        assertThat(world.states()).containsExactly(JobState.SUCCEEDED);
    }

    static Stream<Arguments> faultsOfTheAttempt() {
        return Stream.of(
                Arguments.of("5xx", failure(Kind.TRANSIENT, "server_error", "the provider failed (HTTP 500): boom"), "server_error"),
                Arguments.of("timeout", failure(Kind.TRANSIENT, "provider_timeout", "the provider did not answer within PT5S"), "provider_timeout"),
                Arguments.of("malformed", failure(Kind.TRANSIENT, "malformed_response", "the provider's answer could not be read"), "malformed_response"),
                Arguments.of("truncated", truncatedPng(), "invalid_output"),
                Arguments.of("wrong size", png(512, 512), "invalid_output"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("faultsOfTheAttempt")
    void aFaultOfTheAttemptIsRetriedLaterWithTheNextAttemptAnnouncedQueued(String name, FakeWorld.ScriptedProvider.Step fault,
                                                                           String code) {
        world.provider.then(fault);

        JobOutcome outcome = world.processor.process(job(1));

        assertThat(outcome).isInstanceOfSatisfying(JobOutcome.RetryLater.class, r -> {
            assertThat(r.reason().code()).isEqualTo(code);
            assertThat(r.reason().retryable()).isTrue();
            assertThat(r.delay()).as("the first retry comes within seconds").isEqualTo(FakeWorld.FIRST_RETRY_DELAY);
        });
        assertThat(world.states()).containsExactly(JobState.RUNNING, JobState.QUEUED);
        assertThat(world.lastEvent().attempt()).isEqualTo(2);
        assertThat(world.lastEvent().error().code()).isEqualTo(code);
        assertThat(world.bucket.puts).as("a wrong image is never stored").hasValue(0);
        assertThat(workDir).isEmptyDirectory();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("faultsOfTheAttempt")
    void theSameFaultAtTheLastAttemptFailsTheJobWithTheReason(String name, FakeWorld.ScriptedProvider.Step fault, String code) {
        world.provider.then(fault);

        JobOutcome outcome = world.processor.process(job(FakeWorld.MAX_ATTEMPTS));

        assertThat(outcome).isInstanceOfSatisfying(JobOutcome.Failed.class, f -> {
            assertThat(f.error().code()).isEqualTo(code);
            assertThat(f.error().retryable()).as("no retry follows").isFalse();
        });
        assertFinalEventIsFailed(code);
    }

    @Test
    void theRetryDelayFollowsTheAttemptOfTheRound() {
        world.provider.then(failure(Kind.TRANSIENT, "server_error", "x")).then(failure(Kind.TRANSIENT, "server_error", "x"))
                .then(failure(Kind.TRANSIENT, "server_error", "x"));
        assertThat(world.processor.process(job(1))).isInstanceOfSatisfying(JobOutcome.RetryLater.class,
                r -> assertThat(r.delay()).isEqualTo(FakeWorld.FIRST_RETRY_DELAY));
        assertThat(world.processor.process(job(2))).isInstanceOfSatisfying(JobOutcome.RetryLater.class,
                r -> assertThat(r.delay()).as("later attempts back off to the retry topics' delays").isEqualTo(Duration.ofMillis(300)));
        // A client's retry after the last attempt: attempt 4 begins a fresh round, so it is its first try.
        RenderJobRequested retried = job(FakeWorld.MAX_ATTEMPTS).nextRound();
        assertThat(retried.attempt()).isEqualTo(FakeWorld.MAX_ATTEMPTS + 1);
        assertThat(world.processor.process(retried)).isInstanceOfSatisfying(JobOutcome.RetryLater.class,
                r -> assertThat(r.delay()).isEqualTo(FakeWorld.FIRST_RETRY_DELAY));
        assertThat(world.lastEvent().attempt()).isEqualTo(FakeWorld.MAX_ATTEMPTS + 2);
    }

    @Test
    void a429IsWaitedOutWithoutSpendingAnAttempt() {
        world.provider.then(failure(Kind.RATE_LIMITED, "rate_limit_exceeded", "slow down"))
                .then(failure(Kind.RATE_LIMITED, "rate_limit_exceeded", "slow down"));

        JobOutcome outcome = world.processor.process(job(1));

        assertThat(outcome).isInstanceOf(JobOutcome.Succeeded.class);
        assertThat(world.provider.calls).hasValue(3);
        assertThat(world.states()).containsExactly(JobState.RUNNING, JobState.SUCCEEDED);
        assertThat(world.lastEvent().attempt()).isEqualTo(1);
    }

    @Test
    void aRequestRefusedAsInvalidFailsAtOnceAtTheFirstAttempt() {
        world.provider.then(failure(Kind.REJECTED, "invalid_value", "Invalid size '1000x1000'."));

        JobOutcome outcome = world.processor.process(job(1));

        assertThat(outcome).isInstanceOfSatisfying(JobOutcome.Failed.class,
                f -> assertThat(f.error()).isEqualTo(new JobError("invalid_value", "Invalid size '1000x1000'.", false)));
        assertFinalEventIsFailed("invalid_value");
        assertThat(world.provider.calls).hasValue(1);
    }

    @Test
    void aModerationRefusalFailsAtOnceAndIsNeverRetried() {
        world.provider.then(failure(Kind.REJECTED, "moderation_blocked", "Your request was rejected by the safety system."));

        assertThat(world.processor.process(job(1))).isInstanceOf(JobOutcome.Failed.class);
        assertFinalEventIsFailed("moderation_blocked");
    }

    @Test
    void aRefusedKeyFailsNothingAndTheJobIsLeftForRedeliveryAtShutdown() throws Exception {
        world.provider.then(failure(Kind.UNAUTHORIZED, "invalid_api_key", "the provider refused the API key (HTTP 401)"));

        CompletableFuture<JobOutcome> running = inAThread(() -> world.processor.process(job(1)));
        await().atMost(Duration.ofSeconds(5)).until(world.access::isRevoked);
        Thread.sleep(300);
        assertThat(running).as("the job waits for a working key").isNotDone();
        world.shutdown.beginDrain();

        assertThat(running.get(5, TimeUnit.SECONDS)).isInstanceOf(JobOutcome.LeftForRedelivery.class);
        assertThat(world.states()).as("nothing but running: no attempt spent, nothing failed").containsExactly(JobState.RUNNING);
        assertThat(world.provider.calls).hasValue(1);
    }

    @Test
    void aCallInterruptedAtShutdownIsLeftForRedeliveryWithoutSpendingAnAttempt() {
        world.provider.then(interrupted());

        JobOutcome outcome = world.processor.process(job(2));

        assertThat(outcome).isInstanceOf(JobOutcome.LeftForRedelivery.class);
        assertThat(world.states()).containsExactly(JobState.RUNNING);
    }

    @Test
    void anUnforeseenFailureCostsAnAttemptInsteadOfStrandingTheJob() {
        world.provider.then(crash());

        assertThat(world.processor.process(job(1))).isInstanceOfSatisfying(JobOutcome.RetryLater.class,
                r -> assertThat(r.reason().code()).isEqualTo(RetryPolicy.WORKER_ERROR));
        world.provider.then(crash());
        assertThat(world.processor.process(job(FakeWorld.MAX_ATTEMPTS))).isInstanceOf(JobOutcome.Failed.class);
        assertFinalEventIsFailed(RetryPolicy.WORKER_ERROR);
    }

    @Test
    void storageDownBeforeTheRenderIsWaitedOutWithoutSpendingAnAttempt() {
        world.bucket.lookupFailuresToCome.set(5);

        JobOutcome outcome = world.processor.process(job(1));

        assertThat(outcome).isInstanceOf(JobOutcome.Succeeded.class);
        assertThat(world.states()).containsExactly(JobState.RUNNING, JobState.SUCCEEDED);
        assertThat(world.lastEvent().attempt()).isEqualTo(1);
        assertThat(world.registry.counter("kiln.storage.retries").count()).isEqualTo(5);
    }

    @Test
    void storageDownAfterTheRenderNeverThrowsThePaidRenderAway() {
        world.bucket.storeFailuresToCome.set(4);

        JobOutcome outcome = world.processor.process(job(FakeWorld.MAX_ATTEMPTS));

        assertThat(outcome).as("even at the last attempt, storage is no job fault").isInstanceOf(JobOutcome.Succeeded.class);
        assertThat(world.provider.calls).as("rendered once").hasValue(1);
        assertThat(world.bucket.storeCalls).containsExactly(false, true, true, true, true);
        assertThat(world.states()).containsExactly(JobState.RUNNING, JobState.SUCCEEDED);
    }

    @Test
    void aRenderNotStoredAtShutdownIsKeptAndStoredByTheNextDeliveryWithoutRenderingAgain() throws Exception {
        world.bucket.storeFailuresToCome.set(Integer.MAX_VALUE);
        CompletableFuture<JobOutcome> first = inAThread(() -> world.processor.process(job(1)));
        await().atMost(Duration.ofSeconds(5)).until(() -> world.bucket.storeCalls.size() >= 2);
        world.shutdown.beginDrain();
        assertThat(first.get(5, TimeUnit.SECONDS)).isInstanceOf(JobOutcome.LeftForRedelivery.class);
        assertThat(world.states()).containsExactly(JobState.RUNNING);
        try (Stream<Path> kept = Files.walk(workDir)) {
            assertThat(kept.map(p -> p.getFileName().toString())).contains("kept-render.json", "image-0");
        }

        // The worker restarts (a fresh world over the same folder) and S3 is back.
        FakeWorld restarted = new FakeWorld(workDir);
        JobOutcome second = restarted.processor.process(job(1));

        assertThat(second).isInstanceOf(JobOutcome.Succeeded.class);
        assertThat(restarted.provider.calls).as("the kept render is stored, not paid again").hasValue(0);
        assertThat(restarted.bucket.puts).hasValue(1);
        assertThat(workDir).isEmptyDirectory();
    }

    @Test
    void aStatusTopicThatRefusesAnEventIsTriedAgain() {
        world.statusFailuresToCome.set(3);

        assertThat(world.processor.process(job(1))).isInstanceOf(JobOutcome.Succeeded.class);
        assertThat(world.states()).containsExactly(JobState.RUNNING, JobState.SUCCEEDED);
    }

    @Test
    void aReferenceThatWillNeverWorkFailsAtOnceAndAFlakyOneIsRetried() {
        FakeWorld.NoReferences refused = new FakeWorld.NoReferences() {
            @Override
            public dev.kiln.reference.FetchedReferences fetch(RenderJobRequested job, Path dir) {
                throw ReferenceException.permanent(ReferenceException.NOT_FOUND, "no object default/uploads/x in the bucket");
            }
        };
        assertThat(world.policy.afterReferenceFailure(job(1),
                ReferenceException.permanent(ReferenceException.NOT_FOUND, "gone"))).isInstanceOf(JobOutcome.Failed.class);
        assertThat(world.policy.afterReferenceFailure(job(1),
                ReferenceException.transientFault("reset", null))).isInstanceOf(JobOutcome.RetryLater.class);
        assertThat(world.policy.afterReferenceFailure(job(FakeWorld.MAX_ATTEMPTS),
                ReferenceException.transientFault("reset", null))).isInstanceOf(JobOutcome.Failed.class);
        assertThat(refused).isNotNull();
    }

    @Test
    void storageBackoffDoublesUpToItsCap() {
        assertThat(world.policy.backoff(1)).isBetween(Duration.ofMillis(1), Duration.ofMillis(2));
        assertThat(world.policy.backoff(30)).isBetween(Duration.ofMillis(5), Duration.ofMillis(6));
    }

    @org.junit.jupiter.api.AfterEach
    void stopWhateverStillWaits() {
        world.shutdown.beginDrain();
    }

    private static CompletableFuture<JobOutcome> inAThread(java.util.function.Supplier<JobOutcome> work) {
        CompletableFuture<JobOutcome> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> result.complete(work.get()));
        return result;
    }

    private void assertFinalEventIsFailed(String code) {
        JobStatusChanged last = world.lastEvent();
        assertThat(last.state()).isEqualTo(JobState.FAILED);
        assertThat(last.error().code()).isEqualTo(code);
        assertThat(last.error().retryable()).isFalse();
    }
}
