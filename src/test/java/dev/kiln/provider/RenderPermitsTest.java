package dev.kiln.provider;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** How the permits follow the configuration, the worker's share and the provider's headers. */
class RenderPermitsTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void aFreshWorkerMaySpendItsBurstAndThenWaitsForTheRate() {
        RenderPermits permits = started(config(600, 0));   // 10 a second, 10 s burst = 100
        long now = System.nanoTime();
        assertThat(takeAll(permits, now)).isEqualTo(100);
        assertThat(permits.tryAcquire(1, now)).isBetween(SECOND / 20, SECOND / 5);
    }

    @Test
    void anArrivalMarginKeepsItsShareOfTheRateInHandAndLeavesTheSteadyRateAsItWas() {
        // 10 a second with a 0.25 s margin: 2.5 images stay in hand beyond each call, so 97 of the
        // 100 pass at once and 3 are left.
        RenderPermits permits = started(config(600, 0, Duration.ofMillis(250)));
        long now = System.nanoTime();
        assertThat(takeAll(permits, now)).isEqualTo(97);
        // The 98th waits until 3.5 are in hand (0.05 s); then one every 0.1 s, as without a margin.
        long wait = permits.tryAcquire(1, now);
        assertThat(wait).isBetween(SECOND / 40, SECOND / 10);
        assertThat(permits.tryAcquire(1, now + wait)).isZero();
        assertThat(permits.tryAcquire(1, now + wait)).isBetween(SECOND / 20, SECOND / 5);
        assertThat(permits.tryAcquire(1, now + wait + SECOND / 10 + 1_000)).isZero();
    }

    @Test
    void itsShareOfThePartitionsIsItsShareOfTheLimit() {
        RenderPermits permits = new RenderPermits(config(600, 0));
        permits.setShare(0.25);
        assertThat(takeAll(permits, System.nanoTime())).isEqualTo(25);
        permits.setShare(0.5);
        assertThat(takeAll(permits, System.nanoTime())).as("a rebalance mints no allowance").isZero();
    }

    @Test
    void aGrowingShareMintsNoAllowanceTheOtherWorkersMayHaveSpent() {
        RenderPermits permits = new RenderPermits(config(600, 0));   // 10 a second, 10 s burst = 100
        permits.setShare(0.25);
        // The other workers, three quarters of the limit, have just spent their 75; this worker's
        // partitions now hold the backlog. Scaling its full 25 up to a full 75 would let the
        // organisation see 150 within a moment, half again its burst.
        permits.setShare(0.75);
        long now = System.nanoTime();
        assertThat(takeAll(permits, now)).as("what it held, not the larger share's burst").isEqualTo(25);
        assertThat(permits.tryAcquire(1, now)).as("then the larger share's rate, 7.5 a second")
                .isBetween(SECOND / 10, SECOND / 7);
    }

    @Test
    void aShareOfZeroDuringARebalanceDoesNotEmptyTheBucket() {
        RenderPermits permits = new RenderPermits(config(600, 0));
        permits.setShare(0);
        permits.setShare(0.5);
        assertThat(takeAll(permits, System.nanoTime())).as("the half share's whole burst").isEqualTo(50);
    }

    @Test
    void aLowerLimitToldByTheProviderIsInForce() {
        RenderPermits permits = started(config(600, 0));
        permits.onAnswered(headers(60, null, null));
        assertThat(permits.ipm()).isEqualTo(60);
        assertThat(takeAll(permits, System.nanoTime())).isEqualTo(10);
    }

    @Test
    void aHigherLimitToldByTheProviderDoesNotRaiseTheConfiguredOne() {
        RenderPermits permits = started(config(60, 0));
        permits.onAnswered(headers(6000, null, null));
        assertThat(permits.ipm()).isEqualTo(60);
    }

    @Test
    void withoutAConfiguredLimitTheProvidersLimitIsLearned() {
        RenderPermits permits = started(config(0, 0));
        assertThat(takeAll(permits, System.nanoTime())).as("no limit known: nothing holds").isEqualTo(1000);
        permits.onAnswered(headers(120, 0L, Duration.ofSeconds(10)));
        assertThat(permits.ipm()).isEqualTo(120);
        long now = System.nanoTime();
        assertThat(takeAll(permits, now)).as("nothing left: no burst").isLessThanOrEqualTo(1);
        assertThat(permits.tryAcquire(1, now)).as("two a second").isBetween(SECOND / 4, SECOND / 2);
    }

    @Test
    void whatTheOrganisationHasLeftCapsTheBurst() {
        RenderPermits permits = started(config(600, 0));
        permits.setShare(0.5);
        permits.onAnswered(headers(600, 8L, Duration.ofSeconds(3)));
        assertThat(takeAll(permits, System.nanoTime())).as("half of the 8 left").isEqualTo(4);
    }

    @Test
    void theRefillStopsWhereTheProvidersBucketCouldNotHoldTheCallsStillOnTheirWay() {
        long[] now = {0};
        RenderPermits permits = new RenderPermits(config(600, 0), () -> now[0]);   // 10 a second, 10 s burst = 100
        // A fresh worker grants its whole burst at once; its calls reach the provider 3 s later.
        // The provider's bucket stayed full until then and refilled nothing.
        List<RenderPermits.Permit> calls = new ArrayList<>();
        while (permits.tryAcquire(1, now[0]) == 0) {
            calls.add(permits.granted(1));
        }
        assertThat(calls).hasSize(100);
        now[0] += 3 * SECOND;
        assertThat(permits.tryAcquire(1, now[0])).as("no refill while the calls are on their way").isPositive();
        calls.forEach(permits::sent);
        now[0] += SECOND;
        assertThat(takeAll(permits, now[0])).as("the refill of the second since they went out, not of 4 s").isEqualTo(10);
    }

    @Test
    void aCallOnItsWayKeepsRoomOnlyForItself() {
        long[] now = {0};
        RenderPermits permits = new RenderPermits(config(600, 0), () -> now[0]);   // 10 a second, 10 s burst = 100
        assertThat(permits.tryAcquire(1, now[0])).isZero();
        RenderPermits.Permit slow = permits.granted(1);
        assertThat(takeAll(permits, now[0])).isEqualTo(99);
        now[0] += 2 * SECOND;
        assertThat(takeAll(permits, now[0])).as("the refill goes on while one call is on its way").isEqualTo(20);
        now[0] += 20 * SECOND;
        assertThat(permits.tryAcquire(100, now[0])).as("99 in hand, not 100: the room of the call on its way stays free")
                .isPositive();
        permits.ended(slow);
        now[0] += SECOND;
        assertThat(permits.tryAcquire(100, now[0])).as("a call that ended without going out leaves the way").isZero();
    }

    @Test
    void whatWasLeftWhenTheCallArrivedGainsTheRefillSince() {
        long[] now = {0};
        RenderPermits permits = new RenderPermits(config(600, 0), () -> now[0]);   // 10 a second, 10 s burst = 100
        assertThat(takeAll(permits, now[0])).isEqualTo(100);
        RenderPermits.Permit lastCall = permits.granted(1);
        // The provider counted 0 left when the last call arrived; its answer comes 3 s later, when
        // 30 more have been refilled there as here. Capping at the 0 it said (at least 1) would
        // throw those 30 away, 3 s of the rate at every answer while the bucket fills.
        now[0] += 3 * SECOND;
        permits.onAnswered(headers(600, 0L, Duration.ofSeconds(10)), lastCall);
        assertThat(takeAll(permits, now[0])).as("the refill of the 3 s the render took").isEqualTo(30);
    }

    @Test
    void theRefillSinceCountsTheSmallerOfTheSharesThenAndNow() {
        long[] now = {0};
        RenderPermits permits = new RenderPermits(config(600, 0), () -> now[0]);
        RenderPermits.Permit call = permits.granted(1);
        permits.setShare(0.5);
        now[0] += 2 * SECOND;
        permits.onAnswered(headers(600, 20L, Duration.ofSeconds(10)), call);
        assertThat(takeAll(permits, now[0])).as("half of the 20 left and of the 20 refilled since").isEqualTo(20);
    }

    @Test
    void nothingLeftAndNoRateKnownHoldsUntilTheWindowResets() {
        RenderPermits permits = started(config(0, 0));
        permits.onAnswered(headers(null, 0L, Duration.ofSeconds(6)));
        long wait = permits.tryAcquire(1, System.nanoTime());
        assertThat(wait).isBetween(5 * SECOND, 6 * SECOND);
    }

    @Test
    void rateLimitedAnswersThrottleAndCalmAnswersRecover() {
        RenderPermits permits = started(config(600, 0));
        permits.onRateLimited();
        assertThat(permits.tryAcquire(1, System.nanoTime())).as("the bucket is spent").isPositive();
        for (int i = 0; i < 200; i++) {
            permits.onAnswered(RateLimitHeaders.none());
        }
        assertThat(takeAll(permits, System.nanoTime() + 20 * SECOND)).isEqualTo(100);
    }

    /**
     * At a 60 s latency no answer comes back for a minute after a 429: the throttle comes back
     * with time alone, 5 % a second, so that one 429 at a batch's start no longer costs 30 % of
     * the rate until the first renders return.
     */
    @Test
    void aThrottleRecoversWithTimeWithoutAnyAnswer() {
        long[] now = {0};
        RenderPermits permits = new RenderPermits(config(600, 0), () -> now[0]);
        permits.onRateLimited();
        now[0] += 10 * SECOND;
        permits.tryAcquire(1, now[0]);
        assertThat(permits.throttle()).as("0.7 × 1.05^10 = 1.14, capped").isEqualTo(1.0);

        permits.onRateLimited();
        now[0] += SECOND;
        permits.onRateLimited();
        now[0] += 3 * SECOND + SECOND / 2;
        permits.tryAcquire(1, now[0]);
        assertThat(permits.throttle()).as("0.49 × 1.05^3 after 3.5 s").isCloseTo(0.49 * Math.pow(1.05, 3), within(1e-9));
        assertThat(permits.callsPerSecond(1)).as("the target plans on the share, not the throttle").isEqualTo(10.0);
    }

    /**
     * 429s that come back together are one signal (calls bunched on their way, as a cold worker's
     * first calls were): they cut the throttle once, not to the floor; 429s a second apart cut again.
     */
    @Test
    void rateLimitedAnswersTogetherCutTheThrottleOnce() {
        long[] now = {0};
        RenderPermits permits = new RenderPermits(config(600, 0), () -> now[0]);
        for (int i = 0; i < 4; i++) {
            now[0] += 10_000_000L;
            permits.onRateLimited();
        }
        assertThat(permits.throttle()).isCloseTo(0.7, within(1e-9));
        now[0] += SECOND;
        permits.onRateLimited();
        assertThat(permits.throttle()).isCloseTo(0.49, within(1e-9));
    }

    @Test
    void aRequestForMoreImagesThanTheBurstPassesOnceAndLeavesADebt() {
        RenderPermits permits = started(config(6, 0));   // one every 10 s, burst 1
        long now = System.nanoTime();
        assertThat(permits.tryAcquire(4, now)).isZero();
        assertThat(permits.tryAcquire(1, now)).isGreaterThan(30 * SECOND);
    }

    private static RenderPermits started(RateConfig config) {
        return new RenderPermits(config);
    }

    private static int takeAll(RenderPermits permits, long now) {
        int taken = 0;
        while (taken < 1000 && permits.tryAcquire(1, now) == 0) {
            taken++;
        }
        return taken;
    }

    private static RateLimitHeaders headers(Integer limitImages, Long remainingImages, Duration resetImages) {
        return new RateLimitHeaders(OptionalLong.empty(),
                limitImages == null ? OptionalLong.empty() : OptionalLong.of(limitImages),
                OptionalLong.empty(),
                remainingImages == null ? OptionalLong.empty() : OptionalLong.of(remainingImages),
                Optional.empty(), Optional.ofNullable(resetImages), Optional.empty());
    }

    private static RateConfig config(double ipm, double rpm) {
        return config(ipm, rpm, Duration.ZERO);
    }

    private static RateConfig config(double ipm, double rpm, Duration margin) {
        return new RateConfig() {
            @Override
            public double tpm() {
                return 0;
            }

            @Override
            public double ipm() {
                return ipm;
            }

            @Override
            public double rpm() {
                return rpm;
            }

            @Override
            public Duration burst() {
                return Duration.ofSeconds(10);
            }

            @Override
            public Duration arrivalMargin() {
                return margin;
            }

            @Override
            public Duration shareRefresh() {
                return Duration.ZERO;
            }

            @Override
            public double minThrottle() {
                return 0.25;
            }
        };
    }
}
