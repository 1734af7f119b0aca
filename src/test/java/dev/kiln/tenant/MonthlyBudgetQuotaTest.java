package dev.kiln.tenant;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Intake's {@code monthly_budget_usd} check, against a fake of the month's spend. */
class MonthlyBudgetQuotaTest {

    private final Map<String, BigDecimal> spent = new HashMap<>();
    private final TenantDirectory directory = TenantDirectoryTest.directory(AuthMode.REQUIRED,
            "acme=" + TenantDirectoryTest.KEY_A + ",globex=" + TenantDirectoryTest.KEY_B, TenantDirectoryTest.ADMIN);
    private final TenantQuotaGuard guard = new TenantQuotaGuard(directory, tenant -> 0,
            tenant -> new TenantUsage(0L, 0L, spent.get(tenant)), 0);

    @Test
    void aTenantWhoseMonthHasReachedItsBudgetIsRefusedWithA429NamingTheQuotaUntilTheNextMonth() {
        directory.apply(Map.of("acme", new TenantRecord("acme", null,
                new TenantRecord.QuotaOverrides(null, null, null, new BigDecimal("0.05")), null, null, null, Instant.now())));
        spent.put("acme", new BigDecimal("0.0499"));
        guard.checkBatch("acme", 10, 10);

        spent.put("acme", new BigDecimal("0.05"));
        assertThatThrownBy(() -> guard.checkBatch("acme", 1, 1))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.quota()).isEqualTo("monthly_budget_usd");
                    assertThat(e.shownLimit()).isEqualTo("0.05");
                    assertThat(e.getMessage()).contains("$0.05", "monthly_budget_usd", "renews at");
                    assertThat(e.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofDays(31));
                });
        // The dry run enqueues nothing, so it is not refused.
        guard.checkItems("acme", 1);
    }

    @Test
    void noBudgetOrAnUnknownSpendRefusesNothing() {
        spent.put("globex", new BigDecimal("1000"));
        guard.checkBatch("globex", 1, 1);
        directory.apply(Map.of("acme", new TenantRecord("acme", null,
                new TenantRecord.QuotaOverrides(null, null, null, BigDecimal.ONE), null, null, null, Instant.now())));
        // The ledger is still being read: the budget guard stops the batch if it must.
        guard.checkBatch("acme", 1, 1);
    }
}
