package dev.kiln.storage;

import io.minio.MinioClient;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** Makes the one {@link MinioClient} of the process; it is thread-safe and pools its connections. */
@ApplicationScoped
public class MinioClientProducer {

    @Produces
    @ApplicationScoped
    MinioClient minioClient(S3Config config) {
        return MinioClient.builder()
                .endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey())
                .region(config.region())
                .build();
    }
}
