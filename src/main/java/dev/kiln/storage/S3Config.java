package dev.kiln.storage;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** Where images are stored: any S3 API server. */
@ConfigMapping(prefix = "kiln.s3")
public interface S3Config {

    /** Endpoint URL of the S3 API (env {@code KILN_S3_ENDPOINT}). */
    @WithDefault("http://localhost:9000")
    String endpoint();

    /** Access key (env {@code KILN_S3_ACCESS_KEY}). */
    @WithDefault("kiln")
    String accessKey();

    /** Secret key (env {@code KILN_S3_SECRET_KEY}); never logged. */
    @WithDefault("kiln-local-secret")
    String secretKey();

    /** Bucket that holds outputs, uploads and manifests (env {@code KILN_S3_BUCKET}). */
    @WithDefault("kiln")
    String bucket();

    /** Region to sign requests for; most S3 servers other than AWS accept any. */
    @WithDefault("us-east-1")
    String region();

    /** How long a presigned GET URL stays valid. */
    @WithDefault("PT1H")
    Duration presignExpiry();

    /** Create the bucket at start-up when it is missing (off where the bucket is provisioned separately). */
    @WithDefault("true")
    boolean createBucket();
}
