package dev.kiln.provider;

import dev.kiln.image.Dimensions;
import dev.kiln.image.ImageTokens;
import dev.kiln.job.ImageParameters;
import dev.kiln.job.RenderJobRequested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** Token pacing: reserve an estimate, settle it with the usage, steer by the token headers. */
class TokenPermitsTest {

    /** 3840×2160 at high quality: ⌈7024 × 8,294,400 / 1024²⌉ output tokens. */
    private static final long UHD_HIGH = ImageTokens.outputPerImage("high", new Dimensions(3840, 2160));
    private static final boolean NOW_OR_NEVER = true;

    @Test
    void aUhdHighQualityJobIsEstimatedAtItsPromptAndGptImage2sOutputTokens() {
        RenderJobRequested job = job("3840x2160", "high", 1);
        assertThat(UHD_HIGH).isEqualTo(55_561);
        assertThat(TokenPermits.estimate(job)).isEqualTo(ImageTokens.textInput(job.prompt()) + UHD_HIGH);
        assertThat(TokenPermits.estimate(job("3840x2160", "high", 3))).isEqualTo(ImageTokens.textInput(job.prompt()) + 3 * UHD_HIGH);
        // auto counts as the dearest: high quality, the largest automatic size.
        assertThat(TokenPermits.estimate(job("auto", "auto", 1)))
                .isEqualTo(ImageTokens.textInput(job.prompt()) + ImageTokens.outputPerImage("high", new Dimensions(1536, 1024)));
    }

    @Test
    void theBurstHoldsWhatTheRateAllowsAndASecondUhdJobWaits() throws InterruptedException {
        // 600,000 TPM = 10,000 tokens/s; a 10 s burst holds 100,000: one UHD job, not two.
        TokenPermits permits = new TokenPermits(600_000, 10, 0, () -> 1.0);
        assertThat(permits.acquire(UHD_HIGH, () -> NOW_OR_NEVER)).isNotNull();
        assertThat(permits.acquire(UHD_HIGH, () -> NOW_OR_NEVER)).as("44,439 left < 55,561").isNull();
    }

    @Test
    void aCallWaitsUntilTheArrivalMarginIsInHandBeyondIt() throws InterruptedException {
        // 1,200,000 TPM = 20,000 tokens/s and a 10 s burst of 200,000: three UHD jobs leave 33,317.
        // Without a margin the fourth passes the moment 55,561 are back, and a provider that counted
        // the first three a few milliseconds late is a few dozen tokens short; with 0.25 s in hand it
        // waits until 60,561 are, 5,000 to spare.
        TokenPermits paced = new TokenPermits(1_200_000, 10, 0.25, () -> 1.0);
        for (int i = 0; i < 3; i++) {
            TokenPermits.Reservation call = paced.acquire(UHD_HIGH, () -> NOW_OR_NEVER);
            assertThat(call).isNotNull();
            paced.sent(call);
        }
        long started = System.nanoTime();
        assertThat(paced.acquire(UHD_HIGH, () -> false)).isNotNull();
        double waited = (System.nanoTime() - started) / 1e9;
        assertThat(waited).as("(60,561 - 33,317) / 20,000 s").isGreaterThanOrEqualTo(1.35);
    }

    @Test
    void theRefillKeepsRoomForTheTokensOfCallsStillOnTheirWay() throws InterruptedException {
        // 600,000 TPM = 10,000 tokens/s, a 10 s burst of 100,000, all reserved by one call that takes
        // its time to reach the provider, whose full bucket refills nothing meanwhile.
        TokenPermits permits = new TokenPermits(600_000, 10, 0, () -> 1.0);
        TokenPermits.Reservation slow = permits.acquire(100_000, () -> NOW_OR_NEVER);
        assertThat(slow).isNotNull();
        Thread.sleep(300);
        assertThat(permits.acquire(1_000, () -> NOW_OR_NEVER)).as("no refill while the call is on its way").isNull();
        permits.sent(slow);
        Thread.sleep(300);
        assertThat(permits.acquire(1_000, () -> NOW_OR_NEVER)).as("the refill since it went out").isNotNull();
    }

    @Test
    void aCallThatEndsWithoutGoingOutLeavesTheWay() throws InterruptedException {
        TokenPermits permits = new TokenPermits(600_000, 10, 0, () -> 1.0);
        TokenPermits.Reservation neverSent = permits.acquire(100_000, () -> NOW_OR_NEVER);
        permits.ended(neverSent);
        Thread.sleep(300);
        assertThat(permits.acquire(1_000, () -> NOW_OR_NEVER)).isNotNull();
    }

    @Test
    void settlingGivesBackWhatTheUsageDidNotSpendAndAFailedCallGivesBackAll() throws InterruptedException {
        TokenPermits permits = new TokenPermits(600_000, 10, 0, () -> 1.0);
        TokenPermits.Reservation first = permits.acquire(UHD_HIGH, () -> NOW_OR_NEVER);
        // The call used 30,000 tokens, not 55,561: 25,561 go back, 70,000 are left.
        permits.settle(first, new ProviderUsage(0, 0, 30_000));
        TokenPermits.Reservation second = permits.acquire(UHD_HIGH, () -> NOW_OR_NEVER);
        assertThat(second).isNotNull();
        assertThat(permits.acquire(UHD_HIGH, () -> NOW_OR_NEVER)).isNull();
        permits.release(second);
        assertThat(permits.acquire(UHD_HIGH, () -> NOW_OR_NEVER)).as("a 429 or a 5xx is not billed").isNotNull();
    }

    @Test
    void aWorkerPacesByItsShareAndAJobLargerThanItsBurstPassesOnceTheBurstIsFull() throws InterruptedException {
        // Half of 600,000 TPM: a 50,000-token burst, smaller than one UHD job, which still passes when it is full.
        TokenPermits permits = new TokenPermits(600_000, 10, 0, () -> 0.5);
        assertThat(permits.acquire(UHD_HIGH, () -> NOW_OR_NEVER)).isNotNull();
        assertThat(permits.acquire(1_000, () -> NOW_OR_NEVER)).as("the debt is paid back first").isNull();
    }

    @Test
    void theTokenHeadersLowerTheLimitAndCapWhatIsLeft() throws InterruptedException {
        TokenPermits permits = new TokenPermits(600_000, 10, 0, () -> 1.0);
        permits.onAnswered(new TokenLimitHeaders(OptionalLong.of(450_000), OptionalLong.of(0), Optional.of(Duration.ofSeconds(6))));
        assertThat(permits.tpm()).isEqualTo(450_000);
        assertThat(permits.acquire(1_000, () -> NOW_OR_NEVER)).as("nothing left at the provider").isNull();
    }

    @Test
    void withoutALimitNothingWaitsAndAWaitingCallGivesUpWhenAsked() throws InterruptedException {
        TokenPermits none = TokenPermits.unlimited();
        for (int i = 0; i < 100; i++) {
            assertThat(none.acquire(UHD_HIGH, () -> NOW_OR_NEVER)).isNotNull();
        }
        // 100 tokens/s and a 1,000-token burst: once it is spent, 50,000 wait about 10 s.
        TokenPermits permits = new TokenPermits(6_000, 10, 0, () -> 1.0);
        assertThat(permits.acquire(1_000, () -> false)).isNotNull();
        AtomicReference<Boolean> asked = new AtomicReference<>(false);
        long started = System.nanoTime();
        assertThat(permits.acquire(50_000, () -> {
            boolean again = asked.get();
            asked.set(true);
            return again;
        })).isNull();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
    }

    private static RenderJobRequested job(String size, String quality, int n) {
        ImageParameters parameters = new ImageParameters("gpt-image-2", size, quality, null, "jpeg", null, null, n, null);
        return new RenderJobRequested("b_x-000000", "b_x", "acme", "SKU-1", 0, "a hero banner of a mug", parameters,
                List.of(), null, null, 1, Instant.now());
    }
}
