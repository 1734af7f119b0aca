/**
 * The OpenAI Images API: client, errors, usage, prices, rate permits shared across workers.
 * Everything that knows the provider's wire format or limits lives here.
 */
package dev.kiln.provider;
