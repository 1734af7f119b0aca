package dev.kiln.worker;

/**
 * An attempt failed in a way another attempt may not: the message is nacked and SmallRye's
 * delayed-retry-topic failure strategy brings it back after a delay.
 */
public class RetryLaterException extends RuntimeException {

    public RetryLaterException(String message, Throwable cause) {
        super(message, cause);
    }
}
