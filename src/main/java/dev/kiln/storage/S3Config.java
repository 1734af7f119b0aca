package dev.kiln.storage;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** Where images are stored: any S3 API server. */
@ConfigMapping(prefix = "kiln.s3")
public interface S3Config {

    /** Endpoint URL of the S3 API (env {@code KILN_S3_ENDPOINT}). */
    @WithDefault("http://localhost:9000")
    String endpoint();

    /**
     * The endpoint presigned URLs name, when clients reach S3 by another address than Kiln does
     * (env {@code KILN_S3_PUBLIC_ENDPOINT}), such as {@code https://s3.example.com} outside the
     * cluster while Kiln talks to {@code http://minio:9000} inside it. Scheme, host and port only.
     * The URLs are signed for this host, so it must reach the same S3 server under the same
     * credentials; unset, presigned URLs name {@link #endpoint()}.
     */
    Optional<String> publicEndpoint();

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

    /**
     * How long to wait for a TCP connection to S3 (env {@code KILN_S3_CONNECT_TIMEOUT}). A refused
     * port fails at once; this bounds an unroutable or overloaded endpoint.
     */
    @WithDefault("PT5S")
    Duration connectTimeout();

    /**
     * The longest wait for any one read from S3, such as the answer to an upload (env
     * {@code KILN_S3_READ_TIMEOUT}). A hung server (a stopped process, a full disk) is noticed
     * after this long instead of holding a job's slot for ever; an answer of a healthy server
     * comes in milliseconds, even for a 45 MB upload, which S3 acknowledges once it has it.
     */
    @WithDefault("PT30S")
    Duration readTimeout();

    /** The longest wait for any one write to S3, such as a slice of an upload (env {@code KILN_S3_WRITE_TIMEOUT}). */
    @WithDefault("PT30S")
    Duration writeTimeout();

    /**
     * The longest one S3 call may take in all, a 4K upload included (env {@code KILN_S3_CALL_TIMEOUT}):
     * a server that trickles bytes never trips the read or write timeout.
     */
    @WithDefault("PT2M")
    Duration callTimeout();

    /**
     * How often storage is probed while no call has succeeded lately, so that readiness and
     * {@link StorageHealth} notice an outage (and its end) when no job is touching S3.
     */
    @WithDefault("PT5S")
    Duration healthInterval();
}
