/**
 * Who is calling: tenants, their API keys (kept as SHA-256 hashes), quotas and webhook secrets,
 * fed by configuration and the compacted topic kiln.tenants, and the request's CurrentTenant.
 */
package dev.kiln.tenant;
