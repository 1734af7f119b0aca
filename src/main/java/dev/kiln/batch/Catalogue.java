package dev.kiln.batch;

/**
 * What a checked catalogue holds, its items waiting in a {@link CatalogueSpool}: the same for a
 * JSON body ({@link JsonCatalogueReader}) and an NDJSON one ({@link NdjsonCatalogueReader}), which
 * differ only in how a problem names where it is.
 *
 * @param batch         the batch-level fields, without items
 * @param ndjson        whether it came as {@code application/x-ndjson}
 * @param batchLine     NDJSON only: the number of the batch line; 0 without one
 * @param items         how many items
 * @param images        how many images they ask for
 * @param requestSha256 the SHA-256 that an idempotent replay must match
 */
record Catalogue(BatchRequest batch, boolean ndjson, int batchLine, int items, long images, String requestSha256) {

    /** A fresh digest for {@code requestSha256}, which either reader feeds as it reads. */
    static java.security.MessageDigest requestDigest() {
        return dev.kiln.job.Sha256.digest();
    }

    /** Where spooled item {@code number} is: {@code line 7} (NDJSON) or {@code items[6]} (JSON). */
    String itemPath(int number) {
        return itemPath(ndjson, number);
    }

    static String itemPath(boolean ndjson, int number) {
        return ndjson ? "line " + number : "items[" + number + "]";
    }

    /** Where a batch-level field is: {@code line 1.batch.defaults.size} (NDJSON) or {@code defaults.size} (JSON). */
    String batchField(String field) {
        return ndjson ? NdjsonCatalogueReader.batchPath(batchLine) + "." + field : field;
    }
}
