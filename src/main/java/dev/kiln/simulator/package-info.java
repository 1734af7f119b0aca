/**
 * Kiln's stand-in for the OpenAI Images API, a real HTTP server on the same wire format.
 * Tests and the local run use it; nothing in production does.
 */
package dev.kiln.simulator;
