package dev.kiln.simulator;

/**
 * The Batch API's limits on an input file. {@link #OPENAI} are the real ones; tests lower them to
 * reach them cheaply.
 *
 * @param maxRequests       lines in one input file
 * @param maxInputFileBytes bytes of one input file
 */
record BatchLimits(int maxRequests, long maxInputFileBytes) {

    /** 50,000 requests and 200 MB, as OpenAI documents for {@code POST /v1/batches}. */
    static final BatchLimits OPENAI = new BatchLimits(50_000, 200L * 1024 * 1024);
}
