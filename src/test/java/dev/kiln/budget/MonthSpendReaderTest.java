package dev.kiln.budget;

import dev.kiln.tenant.TenantUsage;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The api's reading of the dispatcher's tenant months changelog: a ledger as the dispatcher writes
 * it (its reservations and other fields ignored) gives the month's spend and images; a ledger of
 * an earlier month, or none, is zero; nothing is known before the changelog was read to its end.
 */
class MonthSpendReaderTest {

    private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

    /** A value of the dispatcher's {@code dispatch-tenant-months} store, as its changelog carries it. */
    private static byte[] ledger(String month, String spent, long images) {
        return ("{\"month\":\"" + month + "\",\"spent\":" + spent + ",\"images\":" + images
                + ",\"dearest_job\":0.005915,\"reservations\":{\"b_1-000004\":{\"attempt\":1,\"usd\":0.005915}}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsTheDispatchersLedgersOnceCaughtUpAndCountsAnEarlierMonthAsZero() {
        MonthSpendReader reader = new MonthSpendReader(tenant -> 3, Map.of(), "unused", false, Clock.fixed(NOW, ZoneOffset.UTC));
        reader.apply("frugal", ledger("2026-11", "0.02366", 4));
        reader.apply("old", ledger("2026-10", "1.5", 200));
        assertThat(reader.usage("frugal")).as("not caught up yet").isEqualTo(new TenantUsage(3L, null, null));

        reader.markCaughtUp();
        TenantUsage frugal = reader.usage("frugal");
        assertThat(frugal.monthCostUsd()).isEqualByComparingTo(new BigDecimal("0.02366"));
        assertThat(frugal.monthImages()).isEqualTo(4);
        assertThat(reader.usage("old").monthCostUsd()).isEqualByComparingTo(BigDecimal.ZERO);
        assertThat(reader.usage("nobody").monthImages()).isZero();

        reader.apply("frugal", null);
        assertThat(reader.usage("frugal").monthCostUsd()).isEqualByComparingTo(BigDecimal.ZERO);
        assertThat(MonthSpendReader.changelog("kiln-dispatcher")).isEqualTo("kiln-dispatcher-dispatch-tenant-months-changelog");
    }
}
