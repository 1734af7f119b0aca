package dev.kiln.tenant;

import dev.kiln.job.InvalidRequestException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Intake's quota check against a directory of two tenants and a fake count of pending images. */
class TenantQuotaGuardTest {

    private final Map<String, Long> pending = new HashMap<>();
    private final TenantDirectory directory = TenantDirectoryTest.directory(AuthMode.REQUIRED,
            "acme=" + TenantDirectoryTest.KEY_A + ",globex=" + TenantDirectoryTest.KEY_B, TenantDirectoryTest.ADMIN);

    private TenantQuotaGuard guard(double ipm) {
        return new TenantQuotaGuard(directory, tenant -> pending.getOrDefault(tenant, 0L), ipm);
    }

    /** Sets acme's quotas as the admin API would: its record on kiln.tenants. */
    private void acmeQuotas(Integer maxItems, Long maxPending, Double ipmShare, Integer weight) {
        directory.apply(Map.of("acme", new TenantRecord("acme", weight,
                new TenantRecord.QuotaOverrides(maxItems, maxPending, ipmShare, null), null, null, null, Instant.now())));
    }

    @Test
    void moreItemsThanTheTenantsQuotaIsA400NamingItems() {
        acmeQuotas(5, null, null, null);
        guard(0).checkBatch("acme", 5, 5);
        assertThatThrownBy(() -> guard(0).checkBatch("acme", 6, 6))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.errors()).hasSize(1);
                    assertThat(e.errors().getFirst().field()).isEqualTo("items");
                    assertThat(e.errors().getFirst().reason()).contains("at most 5").contains("max_items_per_batch");
                });
        // The dry run checks the same limit; the other tenant keeps the default of 1000.
        assertThatThrownBy(() -> guard(0).checkItems("acme", 6)).isInstanceOf(InvalidRequestException.class);
        guard(0).checkItems("globex", 1000);
        assertThatThrownBy(() -> guard(0).checkItems("globex", 1001)).isInstanceOf(InvalidRequestException.class);
    }

    @Test
    void pendingImagesOverTheQuotaAre429WithARetryAfterFromTheTenantsShareOfTheRate() {
        acmeQuotas(null, 100L, 0.5, null);
        pending.put("acme", 90L);
        guard(120).checkBatch("acme", 10, 10);
        assertThatThrownBy(() -> guard(120).checkBatch("acme", 11, 11))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.quota()).isEqualTo("max_pending_images");
                    assertThat(e.limit()).isEqualTo(100);
                    assertThat(e.getMessage()).contains("90 are pending").contains("asks for 11");
                    // 1 image over, at half of 120 IPM: one second.
                    assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(1));
                });
        pending.put("acme", 100L);
        assertThatThrownBy(() -> guard(120).checkBatch("acme", 30, 30))
                .isInstanceOfSatisfying(QuotaExceededException.class,
                        e -> assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(30)));
        // Another tenant's backlog is not acme's, and acme's is not globex's.
        guard(120).checkBatch("globex", 1000, 4000);
    }

    @Test
    void withoutAKnownRateTheWaitIsAMinuteAndNeverMoreThanAnHour() {
        acmeQuotas(null, 10L, null, null);
        pending.put("acme", 10L);
        assertThatThrownBy(() -> guard(0).checkBatch("acme", 1, 1))
                .isInstanceOfSatisfying(QuotaExceededException.class,
                        e -> assertThat(e.retryAfter()).isEqualTo(TenantQuotaGuard.UNKNOWN_RATE_RETRY_AFTER));
        assertThat(guard(1).retryAfter(1_000_000, 0.01)).isEqualTo(TenantQuotaGuard.MAX_RETRY_AFTER);
    }

    @Test
    void aBatchThatAloneAsksForMoreThanTheQuotaCanNeverPassSoItIsA400() {
        acmeQuotas(null, 10L, null, null);
        assertThatThrownBy(() -> guard(0).checkBatch("acme", 4, 12))
                .isInstanceOfSatisfying(InvalidRequestException.class,
                        e -> assertThat(e.errors().getFirst().reason()).contains("12 images").contains("max_pending_images quota of 10"));
    }

    @Test
    void theDirectoryGivesEachTenantsWeightAndIpmShareCap() {
        acmeQuotas(null, null, 0.25, 3);
        assertThat(directory.weight("acme")).isEqualTo(3);
        assertThat(directory.ipmShareCap("acme")).isEqualTo(0.25);
        assertThat(directory.weight("globex")).isEqualTo(1);
        assertThat(directory.ipmShareCap("globex")).isEqualTo(1.0);
        assertThat(directory.weight("unknown")).isEqualTo(1);
        assertThat(Optional.of(directory.tenant("acme").weight())).contains(3);
    }
}
