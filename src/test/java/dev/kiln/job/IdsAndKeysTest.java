package dev.kiln.job;

import dev.kiln.storage.ObjectKeys;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class IdsAndKeysTest {

    @Test
    void anIdempotencyKeyAlwaysNamesTheSameBatchPerTenant() {
        assertThat(JobIds.batchIdFor("default", "k1")).isEqualTo(JobIds.batchIdFor("default", "k1"))
                .isNotEqualTo(JobIds.batchIdFor("default", "k2"))
                .isNotEqualTo(JobIds.batchIdFor("other", "k1"))
                .startsWith("b_").hasSize(28);
        assertThat(JobIds.newBatchId()).isNotEqualTo(JobIds.newBatchId()).hasSize(28);
    }

    @Test
    void aJobIdLeadsBackToItsBatch() {
        String batch = JobIds.newBatchId();
        String job = JobIds.jobId(batch, 42);
        assertThat(job).isEqualTo(batch + "-000042");
        assertThat(JobIds.batchIdOf(job)).contains(batch);
        assertThat(JobIds.batchIdOf("nonsense")).isEmpty();
    }

    @Test
    void itemIdsCannotLeaveTheirPrefix() {
        assertThat(ObjectKeys.output("default", "b_1", "SKU-1", 0, "png")).isEqualTo("default/b_1/SKU-1/0.png");
        assertThat(ObjectKeys.output("default", "b_1", "../../other/x", 0, "png")).isEqualTo("default/b_1/..%2F..%2Fother%2Fx/0.png");
        assertThat(ObjectKeys.segment("..")).isEqualTo("%2E%2E");
        assertThat(ObjectKeys.segment(".")).isEqualTo("%2E");
        assertThat(ObjectKeys.segment("a b/ü")).isEqualTo("a%20b%2F%C3%BC");
        assertThat(ObjectKeys.segment("a%2F")).as("a literal percent is encoded too, so no two ids collide").isEqualTo("a%252F");
    }

    @Test
    void uploadIdsHaveNoSlashAndLiveUnderTheTenantsUploads() {
        String id = JobIds.newUploadId();
        assertThat(id).startsWith("upl_").hasSize(30).doesNotContain("/");
        assertThat(JobIds.isUploadId(id)).isTrue();
        assertThat(JobIds.isUploadId("upl_short")).isFalse();
        assertThat(JobIds.isUploadId(id.toUpperCase())).isFalse();
        assertThat(ObjectKeys.upload("default", id)).isEqualTo("default/uploads/" + id);
        assertThat(ObjectKeys.upload("a/b", id)).isEqualTo("a%2Fb/uploads/" + id);
    }
}
