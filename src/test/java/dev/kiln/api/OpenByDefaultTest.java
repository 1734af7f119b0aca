package dev.kiln.api;

import dev.kiln.testing.KilnStackResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

/** With no key configured (the local run, and the other tests), every caller is tenant default. */
@QuarkusTest
@WithTestResource(KilnStackResource.class)
class OpenByDefaultTest {

    @Test
    void everyCallerIsTheDefaultTenantAndTheAdminApiIsOff() {
        given().get("/v1/tenant").then().statusCode(200)
                .body("id", equalTo("default"))
                .body("webhook_secret", startsWith("whsec_"));
        // A key sent anyway changes nothing.
        given().header("Authorization", "Bearer whatever").get("/v1/tenant").then().statusCode(200)
                .body("id", equalTo("default"));
        given().get("/v1/admin/tenants").then().statusCode(401).contentType(Problem.MEDIA_TYPE)
                .body("detail", equalTo("the admin API is off: KILN_ADMIN_API_KEY is not set"));
    }
}
