package dev.kiln.job;

/**
 * Why a job failed, in the provider's words where the provider gave them.
 *
 * @param code      a stable machine code such as {@code moderation_blocked} or {@code provider_unavailable}
 * @param message   a human sentence; never contains a secret
 * @param retryable whether Kiln would retry this (false on the final {@code failed} event of a retried job means attempts ran out)
 */
public record JobError(String code, String message, boolean retryable) {
}
