package dev.kiln.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import io.minio.BucketExistsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.junit.QuarkusTest;

/** The application starts against the test stack and sees its settings. */
@QuarkusTest
@WithTestResource(value = KilnStackResource.class, scope = TestResourceScope.RESTRICTED_TO_CLASS)
class KilnStackResourceTest {

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @ConfigProperty(name = "kiln.s3.endpoint")
    String s3Endpoint;

    @Test
    void configurationPointsAtTheRunningServers() throws Exception {
        assertThat(bootstrapServers).isEqualTo(KilnStackResource.kafka().bootstrapServers());
        assertThat(s3Endpoint).isEqualTo(KilnStackResource.s3Endpoint());

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            admin.createTopics(Set.of(new NewTopic("kiln.stack-check", 1, (short) 1))).all().get(20, TimeUnit.SECONDS);
            // The broker learns of a created topic from the controller a moment later.
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(admin.listTopics().names().get(20, TimeUnit.SECONDS)).contains("kiln.stack-check"));
        }

        MinioClient s3 = MinioClient.builder().endpoint(s3Endpoint)
                .credentials(KilnStackResource.S3_ACCESS_KEY, KilnStackResource.S3_SECRET_KEY).build();
        s3.makeBucket(MakeBucketArgs.builder().bucket("stack-check").build());
        assertThat(s3.bucketExists(BucketExistsArgs.builder().bucket("stack-check").build())).isTrue();
    }
}
