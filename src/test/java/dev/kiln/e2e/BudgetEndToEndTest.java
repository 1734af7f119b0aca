package dev.kiln.e2e;

import dev.kiln.simulator.SimulatorSettings;
import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/**
 * {@code budget_usd} and a tenant's {@code monthly_budget_usd} on the real stack (broker, S3 server, simulator over HTTP,
 * dispatcher): a batch of 30 identical-cost items with a budget of ten and a half jobs' estimate
 * renders exactly ten, pays at most its budget, and ends {@code cancelled} with the other twenty
 * {@code cancelled} / {@code budget_exceeded}, none of them sent to the provider. The dispatcher
 * reserves each job's estimate before it releases it, so the stop does not race the workers.
 *
 * <p>The monthly budget is held the same way: the dispatcher reserves each job's estimate of its
 * tenant's month before it releases it, so a tenant with 4.5 jobs' worth renders exactly 4 and its
 * next batch none, whatever the load and however many calls are in flight.
 *
 * <p>Keys are on (an admin key): each test makes its own tenant through the admin API, so a
 * tenant's month starts empty on a shared broker.
 */
@QuarkusTest
@TestProfile(BudgetEndToEndTest.TwoInFlight.class)
@WithTestResource(KilnStackResource.class)
class BudgetEndToEndTest {

    private static final int ITEMS = 30;
    private static final int IN_FLIGHT = 2;
    private static final long LATENCY_MS = 1000;
    private static final String ADMIN = "test-admin-budget-key-0123456789abcdef";

    /** Two calls in flight (more than one job could start at once, were a budget not reserved before release). Keys on, for the admin API. */
    public static class TwoInFlight implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kiln.worker.max-in-flight", Integer.toString(IN_FLIGHT),
                    "kiln.auth.admin-api-key", ADMIN,
                    "kiln.auth.secrets-key", "test-secrets-budget-root-0123456789abcdefghij",
                    // The tests poll every half second for up to two minutes.
                    "kiln.auth.rate-limit.requests-per-second", "0");
        }
    }

    private SimulatorSettings saved;

    @BeforeEach
    void slowSimulator() {
        saved = KilnStackResource.simulator().settings();
        KilnStackResource.simulator().update(saved.withSetting("SIMULATOR_LATENCY_LOW_MS", Long.toString(LATENCY_MS))
                .withSetting("SIMULATOR_LATENCY_LOW_JITTER_MS", "0"));
    }

    @AfterEach
    void restoreSimulator() {
        KilnStackResource.simulator().update(saved);
    }

    @Test
    void aBatchWithABudgetOfAboutTenImagesRendersTheFirstTenAndCancelsTheRestAsBudgetExceeded() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String key = newTenant("budget-" + run);
        // The dry run's estimate of one job (every item costs the same) sets the budget.
        JsonPath estimate = as(key).contentType(ContentType.JSON).body(catalogue(run, null))
                .post("/v1/batches?dry_run=true").then().statusCode(200).extract().jsonPath();
        BigDecimal perJob = new BigDecimal(estimate.getString("estimated_cost_usd.max"))
                .divide(BigDecimal.valueOf(ITEMS), 9, RoundingMode.HALF_UP);
        BigDecimal budget = perJob.multiply(new BigDecimal("10.5")).setScale(6, RoundingMode.HALF_UP);

        // The dry run says whether the batch fits: all 30 do not fit 10.5 jobs' worth, and in the economy lane still not.
        JsonPath withBudget = as(key).contentType(ContentType.JSON).body(catalogue(run, budget))
                .post("/v1/batches?dry_run=true").then().statusCode(200).extract().jsonPath();
        assertThat(withBudget.getBoolean("fits_budget")).isFalse();
        assertThat(new BigDecimal(withBudget.getString("budget_usd"))).isEqualByComparingTo(budget);

        long callsBefore = renderCount(run);
        String id = as(key).contentType(ContentType.JSON).header("Idempotency-Key", "budget-" + run)
                .body(catalogue(run, budget)).post("/v1/batches").then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                as(key).get("/v1/batches/" + id).then().statusCode(200).body("state", equalTo("cancelled")));
        long calls = renderCount(run) - callsBefore;

        JsonPath batch = as(key).get("/v1/batches/" + id).then().extract().jsonPath();
        BigDecimal spent = new BigDecimal(batch.getString("usage.cost_usd"));
        System.out.printf("budget: $%s (10.5 jobs at $%s estimated), spent $%s on %d renders, %d provider calls, %d cancelled%n",
                budget.toPlainString(), perJob.toPlainString(), spent.toPlainString(), batch.getInt("counts.succeeded"),
                calls, batch.getInt("counts.cancelled"));
        // Ten reservations fit 10.5 jobs and an eleventh would not; each job costs its estimate, so
        // once the ten have settled nothing more can fit and the rest are stopped, however loaded
        // the machine: the stop does not depend on when it reaches a worker.
        int rendered = batch.getInt("counts.succeeded");
        assertThat(rendered).as("jobs rendered").isEqualTo(10);
        assertThat(batch.getInt("counts.cancelled")).isEqualTo(ITEMS - rendered);
        assertThat(calls).as("provider calls: none for a cancelled item").isEqualTo(rendered);
        assertThat(spent).as("spend within the budget: estimates are upper bounds").isLessThanOrEqualTo(budget);
        assertThat(spent).isGreaterThan(perJob.multiply(BigDecimal.valueOf(9)));

        assertRestCancelledAsBudgetExceeded(key, id, ITEMS);
        // The right items: the first ten in item order rendered, from the eleventh on cancelled.
        List<Map<String, Object>> items = as(key).get("/v1/batches/" + id + "/items?limit=100")
                .then().statusCode(200).extract().jsonPath().getList("items");
        assertThat(items).filteredOn(item -> "succeeded".equals(item.get("state"))).extracting(item -> (String) item.get("item_id"))
                .containsExactlyInAnyOrder("SKU-00", "SKU-01", "SKU-02", "SKU-03", "SKU-04", "SKU-05", "SKU-06", "SKU-07",
                        "SKU-08", "SKU-09");
    }

    @Test
    void aTenantWithAMonthlyBudgetOfAboutFourImagesStopsAfterThemAndIsRefusedOnceTheMonthIsSpent() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String tenant = "frugal-" + run;
        String key = newTenant(tenant);
        int items = 12;
        JsonPath estimate = as(key).contentType(ContentType.JSON).body(catalogue(run, null, items))
                .post("/v1/batches?dry_run=true").then().statusCode(200).extract().jsonPath();
        BigDecimal perJob = new BigDecimal(estimate.getString("estimated_cost_usd.max"))
                .divide(BigDecimal.valueOf(items), 9, RoundingMode.HALF_UP);
        BigDecimal monthly = perJob.multiply(new BigDecimal("4.5")).setScale(6, RoundingMode.HALF_UP);
        admin().contentType(ContentType.JSON).body("{\"monthly_budget_usd\": " + monthly.toPlainString() + "}")
                .patch("/v1/admin/tenants/" + tenant).then().statusCode(200);

        // A batch with no budget_usd of its own: the tenant's month stops it.
        long callsBefore = renderCount(run);
        String id = as(key).contentType(ContentType.JSON).body(catalogue(run, null, items))
                .post("/v1/batches").then().statusCode(202).extract().path("id");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                as(key).get("/v1/batches/" + id).then().statusCode(200).body("state", equalTo("cancelled")));
        long calls = renderCount(run) - callsBefore;
        JsonPath batch = as(key).get("/v1/batches/" + id).then().extract().jsonPath();
        BigDecimal spent = new BigDecimal(batch.getString("usage.cost_usd"));
        int rendered = batch.getInt("counts.succeeded");
        System.out.printf("monthly budget: $%s (4.5 jobs at $%s estimated), spent $%s on %d renders, %d provider calls, %d cancelled%n",
                monthly.toPlainString(), perJob.toPlainString(), spent.toPlainString(), rendered, calls,
                batch.getInt("counts.cancelled"));
        // Four reservations fit 4.5 jobs and a fifth would not; once the four have settled at their
        // estimates no job can fit the month any more, and the rest are stopped before release.
        assertThat(rendered).as("jobs rendered").isEqualTo(4);
        assertThat(calls).as("provider calls: none for a cancelled item").isEqualTo(rendered);
        assertThat(spent).as("spend within the monthly budget: estimates are upper bounds").isLessThanOrEqualTo(monthly);
        assertRestCancelledAsBudgetExceeded(key, id, items);

        // GET /v1/tenant shows the month's spend: what the batch cost, and its images.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            JsonPath me = as(key).get("/v1/tenant").then().statusCode(200).extract().jsonPath();
            assertThat(new BigDecimal(me.getString("usage.month_cost_usd"))).isEqualByComparingTo(spent);
            assertThat(me.getLong("usage.month_images")).isEqualTo(rendered);
            assertThat(new BigDecimal(me.getString("quotas.monthly_budget_usd"))).isEqualByComparingTo(monthly);
        });

        if (spent.add(perJob).compareTo(monthly) > 0) {
            // Not yet spent, but no job fits what is left: a new batch is accepted, and the dispatcher
            // ends its items as it stages them, before any release.
            int nextItems = 6;
            String next = as(key).contentType(ContentType.JSON).body(catalogue(run + "-next", null, nextItems))
                    .post("/v1/batches").then().statusCode(202).extract().path("id");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                    as(key).get("/v1/batches/" + next).then().statusCode(200).body("state", equalTo("cancelled")));
            assertThat(as(key).get("/v1/batches/" + next).then().extract().jsonPath().getInt("counts.succeeded"))
                    .as("jobs of the next batch rendered").isZero();
            assertRestCancelledAsBudgetExceeded(key, next, nextItems);
        }

        // An admin lowers the budget below the spend: the month is spent, and intake refuses with a 429 naming the quota.
        admin().contentType(ContentType.JSON).body("{\"monthly_budget_usd\": " + perJob.toPlainString() + "}")
                .patch("/v1/admin/tenants/" + tenant).then().statusCode(200);
        Response refused = as(key).contentType(ContentType.JSON).body(catalogue(run + "-late", null, 2)).post("/v1/batches");
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        assertThat(refused.jsonPath().getString("errors[0].field")).isEqualTo("monthly_budget_usd");
        assertThat(refused.jsonPath().getString("detail")).contains("monthly_budget_usd");
        assertThat(Long.parseLong(refused.header("Retry-After"))).isPositive();
    }

    /** Every item of the batch that did not succeed is {@code cancelled} with code {@code budget_exceeded}. */
    private static void assertRestCancelledAsBudgetExceeded(String key, String id, int count) {
        List<Map<String, Object>> items = as(key).get("/v1/batches/" + id + "/items?limit=100")
                .then().statusCode(200).extract().jsonPath().getList("items");
        assertThat(items).hasSize(count);
        for (Map<String, Object> item : items) {
            if ("cancelled".equals(item.get("state"))) {
                @SuppressWarnings("unchecked")
                Map<String, Object> error = (Map<String, Object>) item.get("error");
                assertThat(error).as("item %s", item.get("item_id")).isNotNull();
                assertThat(error.get("code")).isEqualTo("budget_exceeded");
            } else {
                assertThat(item.get("state")).isEqualTo("succeeded");
            }
        }
    }

    @Test
    void aBudgetThatIsNotAPositiveNumberIsRefusedNamingTheField() {
        String key = newTenant("budget-bad-" + UUID.randomUUID().toString().substring(0, 8));
        as(key).contentType(ContentType.JSON).body("{\"budget_usd\":0,\"items\":[{\"id\":\"a\",\"prompt\":\"mug\"}]}")
                .post("/v1/batches").then().statusCode(400)
                .body("errors[0].field", equalTo("budget_usd"));
        as(key).contentType(ContentType.JSON).body("{\"budget_usd\":\"5\",\"items\":[{\"id\":\"a\",\"prompt\":\"mug\"}]}")
                .post("/v1/batches").then().statusCode(400)
                .body("errors[0].field", equalTo("budget_usd"));
    }

    /** A tenant of its own, made through the admin API, and a key of it. */
    private static String newTenant(String tenant) {
        return admin().post("/v1/admin/tenants/" + tenant + "/keys").then().statusCode(201).extract().path("key");
    }

    private static RequestSpecification admin() {
        return as(ADMIN);
    }

    private static RequestSpecification as(String key) {
        return given().header("Authorization", "Bearer " + key);
    }

    private static String catalogue(String run, BigDecimal budget) {
        return catalogue(run, budget, ITEMS);
    }

    private static String catalogue(String run, BigDecimal budget, int count) {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < count; i++) {
            items.append(i == 0 ? "" : ",").append(String.format("{\"id\":\"SKU-%02d\",\"prompt\":\"budget run %s: mug %02d\"}", i, run, i));
        }
        return "{" + (budget == null ? "" : "\"budget_usd\":" + budget.toPlainString() + ",")
                + "\"cache\":false,\"defaults\":{\"size\":\"1024x1024\",\"quality\":\"low\"},\"items\":[" + items + "]}";
    }

    /**
     * This run's renders so far: the simulator's answered calls for the run's prompts. Not its
     * total render count: the simulator is shared, and work another test class left queued may
     * render meanwhile.
     */
    private static long renderCount(String run) {
        String prefix = "budget run " + run + ":";
        return KilnStackResource.simulator().received().stream()
                .filter(r -> r.prompt() != null && r.prompt().startsWith(prefix) && r.status() == 200)
                .count();
    }
}
