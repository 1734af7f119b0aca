package dev.kiln.dispatch;

import dev.kiln.job.ImageParameters;
import dev.kiln.job.JobStatusChanged;
import dev.kiln.job.Priority;
import dev.kiln.job.RenderJobRequested;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dispatcher's side of the render cache, on its real topology: it learns each tenant's renders
 * from the {@code succeeded} events that name a render key, and releases a job whose render its
 * tenant has stored as a likely hit: flagged, reserving nothing of its batch's budget and taking no
 * room in the window. Never across tenants, not with {@code cache: false}, not once the batch that
 * holds the render's objects is deleted.
 */
class DispatchCacheHitTest {

    /** The upper estimate of one low-quality 1024x1024 job. */
    private static final double JOB = 0.005915;

    @TempDir
    Path stateDir;

    private DispatchHarness dispatcher;

    @AfterEach
    void close() {
        if (dispatcher != null) {
            dispatcher.close();
        }
    }

    private static List<RenderJobRequested> catalogue(String batchId, String tenant, int items, int... changed) {
        List<RenderJobRequested> jobs = new ArrayList<>();
        for (int i = 0; i < items; i++) {
            int index = i;
            boolean isChanged = IntStream.of(changed).anyMatch(c -> c == index);
            jobs.add(DispatchHarness.job(batchId, tenant, i, "catalogue item " + i + (isChanged ? ", now in blue" : "")));
        }
        return jobs;
    }

    /** Renders every job of a first night's catalogue, so its tenant's cache holds them. */
    private void renderFirstNight(String batchId, String tenant, int items) {
        dispatcher.stage(batchId, tenant, Priority.NORMAL, null, catalogue(batchId, tenant, items));
        dispatcher.tick();
        List<RenderJobRequested> released = DispatchHarness.jobs(dispatcher.released());
        assertThat(released).hasSize(items).noneMatch(RenderJobRequested::releasedAsCacheHit);
        released.forEach(job -> dispatcher.rendered(job, JOB));
        dispatcher.started(List.of());
        dispatcher.unstarted.clear();
    }



    @Test
    void aReSubmittedCatalogueWithABudgetJustAboveItsChangedItemsGoesThroughWholeAndItsHitsTakeNoWindowRoom() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        renderFirstNight("b_night1", "acme", 10);

        // Two prompts changed; a budget of 2.1 jobs. Reserving a job's estimate for every item would stop it at the third.
        dispatcher.target.set(2);
        dispatcher.stageWithBudget("b_night2", "acme", catalogue("b_night2", "acme", 10, 3, 7), 2.1 * JOB, JOB);
        dispatcher.tick();
        List<RenderJobRequested> released = DispatchHarness.jobs(dispatcher.released());

        assertThat(released).as("every item in one tick, although the window holds 2").hasSize(10);
        assertThat(released).filteredOn(RenderJobRequested::releasedAsCacheHit).extracting(RenderJobRequested::index)
                .containsExactlyInAnyOrder(0, 1, 2, 4, 5, 6, 8, 9);
        assertThat(released).filteredOn(j -> !j.releasedAsCacheHit()).extracting(RenderJobRequested::index)
                .containsExactlyInAnyOrder(3, 7);
        assertThat(dispatcher.unstarted.count(0)).as("only the two renders count against the window").isEqualTo(2);

        for (RenderJobRequested job : released) {
            if (job.releasedAsCacheHit()) {
                dispatcher.servedFromCache(job);
            } else {
                dispatcher.rendered(job, JOB);
            }
        }
        dispatcher.tick();
        assertThat(dispatcher.budgetStops()).as("the two renders fit 2.1 jobs; the hits cost nothing").isEmpty();
    }

    @Test
    void likelyHitsGoWhileTheWindowIsFullAndLeaveTheFairOrderOfTheRestAlone() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        renderFirstNight("b_first", "acme", 5);
        dispatcher.target.set(1);
        dispatcher.stage("b_other", "globex", Priority.NORMAL, null, catalogue("b_other", "globex", 3));
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).extracting(RenderJobRequested::batchId).containsExactly("b_other");

        dispatcher.stage("b_again", "acme", Priority.NORMAL, null, catalogue("b_again", "acme", 5));
        dispatcher.tick();
        List<RenderJobRequested> released = DispatchHarness.jobs(dispatcher.released());
        assertThat(released).as("the window is full, the hits go anyway").hasSize(5)
                .allMatch(RenderJobRequested::releasedAsCacheHit)
                .extracting(RenderJobRequested::batchId).containsOnly("b_again");
        assertThat(dispatcher.unstarted.count(0)).isEqualTo(1);
    }

    @Test
    void aRenderIsNeverAHintForAnotherTenantNorForAJobThatOptedOut() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        renderFirstNight("b_acme", "acme", 3);

        dispatcher.stage("b_globex", "globex", Priority.NORMAL, null, catalogue("b_globex", "globex", 3));
        dispatcher.stage("b_nocache", "acme", Priority.NORMAL, null,
                catalogue("b_nocache", "acme", 3).stream().map(j -> j.withCache(false)).toList());
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).hasSize(6).noneMatch(RenderJobRequested::releasedAsCacheHit);
    }

    @Test
    void aDeletedBatchsRendersAreForgottenUnlessALaterBatchRenderedThemAgain() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        renderFirstNight("b_old", "acme", 4);
        // Item 3's render is made again in another batch (a miss at the worker, say): its entry names that batch now.
        RenderJobRequested again = DispatchHarness.job("b_redo", "acme", 3, "catalogue item 3");
        dispatcher.stage("b_redo", "acme", Priority.NORMAL, null, List.of(again));
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).singleElement().matches(RenderJobRequested::releasedAsCacheHit);
        dispatcher.rendered(again, JOB);

        dispatcher.deleted("b_old", "acme");
        dispatcher.stage("b_new", "acme", Priority.NORMAL, null, catalogue("b_new", "acme", 4));
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).hasSize(4)
                .filteredOn(RenderJobRequested::releasedAsCacheHit).extracting(RenderJobRequested::index).containsExactly(3);
    }

    @Test
    void editsAreHitsWhenTheirReferencesDigestsAreKnownAndNCountsInTheKey() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        ImageParameters three = new ImageParameters("gpt-image-2", "1024x1024", "low", null, "png", null, null, 3, null);
        RenderJobRequested edit = new RenderJobRequested("b_e1-0", "b_e1", "acme", "SKU-0", 0, "on a white table", three,
                List.of("acme/uploads/photo.png"), "acme/uploads/mask.png", Map.of(), 1, DispatchHarness.START);
        dispatcher.stage("b_e1", "acme", Priority.NORMAL, null, List.of(edit));
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).singleElement().matches(j -> !j.releasedAsCacheHit());
        String photo = "a".repeat(64);
        String mask = "b".repeat(64);
        dispatcher.rendered(edit, 3 * JOB, Map.of("acme/uploads/photo.png", photo, "acme/uploads/mask.png", mask));

        ImageParameters one = new ImageParameters("gpt-image-2", "1024x1024", "low", null, "png", null, null, 1, null);
        List<RenderJobRequested> next = List.of(
                new RenderJobRequested("b_e2-0", "b_e2", "acme", "SKU-0", 0, "on a white table", three,
                        List.of("acme/uploads/photo.png"), "acme/uploads/mask.png", Map.of(), 1, DispatchHarness.START),
                new RenderJobRequested("b_e2-1", "b_e2", "acme", "SKU-1", 1, "on a white table", one,
                        List.of("acme/uploads/photo.png"), "acme/uploads/mask.png", Map.of(), 1, DispatchHarness.START),
                new RenderJobRequested("b_e2-2", "b_e2", "acme", "SKU-2", 2, "on a white table", three,
                        List.of("acme/uploads/other.png"), "acme/uploads/mask.png", Map.of(), 1, DispatchHarness.START));
        dispatcher.stage("b_e2", "acme", Priority.NORMAL, null, next);
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).hasSize(3)
                .filteredOn(RenderJobRequested::releasedAsCacheHit).extracting(RenderJobRequested::index)
                .as("the same edit with n = 3 only: n = 1 is another render, an unknown reference no hint")
                .containsExactly(0);
    }

    @Test
    void aBudgetStopCancelsOnlyWhatIsNotALikelyHitAndAHitRenderedAfterAllIsCounted() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        renderFirstNight("b_first", "acme", 6);

        // Items 0 and 5 are hits; 1 to 4 changed. A budget of 3.5 jobs.
        List<RenderJobRequested> night = catalogue("b_night", "acme", 6, 1, 2, 3, 4);
        dispatcher.stageWithBudget("b_night", "acme", night, 3.5 * JOB, JOB);
        dispatcher.tick();
        List<RenderJobRequested> first = DispatchHarness.jobs(dispatcher.released());
        assertThat(first).extracting(RenderJobRequested::index)
                .as("hit 0 reserves nothing, renders 1 to 3 reserve 3 jobs, 4 waits (and the hit behind it)")
                .containsExactly(0, 1, 2, 3);
        assertThat(first.getFirst().releasedAsCacheHit()).isTrue();

        // The hit's objects were gone after all: the worker rendered it, and it is paid and counted.
        dispatcher.rendered(first.get(0), JOB);
        dispatcher.rendered(first.get(1), JOB);
        dispatcher.rendered(first.get(2), JOB);
        assertThat(dispatcher.budgetStops()).as("3 spent (the hit's render included) + 1 reserved: item 4 can never fit 3.5 jobs")
                .extracting(JobStatusChanged::index).containsExactly(4);
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).as("the hit behind the stopped item still goes")
                .singleElement().matches(j -> j.index() == 5 && j.releasedAsCacheHit());
    }

    @Test
    void aJobStagedAfterTheBudgetStoppedItsBatchEndsAtOnceUnlessItIsALikelyHit() {
        dispatcher = new DispatchHarness(stateDir, TenantWeights.EQUAL);
        renderFirstNight("b_first", "acme", 2);
        dispatcher.stageWithBudget("b_split", "acme", List.of(DispatchHarness.job("b_split", "acme", 0, "new 0")),
                0.5 * JOB, JOB);
        dispatcher.tick();
        assertThat(dispatcher.budgetStops()).extracting(JobStatusChanged::index).containsExactly(0);

        // A later chunk of the same batch: one changed item, one hit.
        dispatcher.stageWithBudget("b_split", "acme", List.of(DispatchHarness.job("b_split", "acme", 1, "new 1"),
                DispatchHarness.job("b_split", "acme", 2, "catalogue item 1")), 0.5 * JOB, JOB);
        assertThat(dispatcher.budgetStops()).extracting(JobStatusChanged::index).containsExactly(1);
        dispatcher.tick();
        assertThat(DispatchHarness.jobs(dispatcher.released())).singleElement().matches(j -> j.index() == 2 && j.releasedAsCacheHit());
    }
}
