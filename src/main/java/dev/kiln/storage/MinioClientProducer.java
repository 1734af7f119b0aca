package dev.kiln.storage;

import io.minio.MinioClient;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import okhttp3.OkHttpClient;

import java.util.concurrent.TimeUnit;

/**
 * Makes the one {@link MinioClient} of the process; it is thread-safe and pools its connections.
 * Every call is bounded by the timeouts of {@link S3Config}: the SDK's defaults wait five minutes
 * on a hung server, so a stopped S3 process would have held every job's slot in silence.
 */
@ApplicationScoped
public class MinioClientProducer {

    @Produces
    @ApplicationScoped
    MinioClient minioClient(S3Config config) {
        OkHttpClient http = new OkHttpClient.Builder()
                .connectTimeout(config.connectTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .readTimeout(config.readTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .writeTimeout(config.writeTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .callTimeout(config.callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .build();
        return MinioClient.builder()
                .endpoint(config.endpoint())
                .credentials(config.accessKey(), config.secretKey())
                .region(config.region())
                .httpClient(http, true)
                .build();
    }
}
