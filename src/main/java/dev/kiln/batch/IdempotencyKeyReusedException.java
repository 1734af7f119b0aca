package dev.kiln.batch;

/** An {@code Idempotency-Key} sent again with a different request than the one that made its batch. */
public class IdempotencyKeyReusedException extends RuntimeException {

    public IdempotencyKeyReusedException(String batchId) {
        super("this Idempotency-Key was used for a different request (batch " + batchId + ")");
    }
}
