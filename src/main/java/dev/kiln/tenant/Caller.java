package dev.kiln.tenant;

/**
 * Who a valid key belongs to.
 *
 * @param tenant the tenant id
 * @param keyId  the key's public id; null when authentication is off
 */
public record Caller(String tenant, String keyId) {
}
