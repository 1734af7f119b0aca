/**
 * The economy lane: jobs of {@code lane: economy} batches go to OpenAI's Batch API (a JSONL file, a
 * batch with a 24 h window, half price) in groups recorded on {@code kiln.provider-batches}, and
 * their results come back through the worker's checks, storage and status events ({@link dev.kiln.economy.LaneResults}).
 */
package dev.kiln.economy;
