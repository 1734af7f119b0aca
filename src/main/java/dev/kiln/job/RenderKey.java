package dev.kiln.job;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The render cache's key: a SHA-256 over a canonical encoding of everything that decides what the
 * provider renders: the model, the prompt byte for byte, every resolved Images API parameter, the
 * digest of every reference image in order, and the digest of the mask. Two jobs with the same key
 * ask the provider for the same thing, so the outputs of one may stand for the other.
 *
 * <p>The encoding is a sorted list of {@code name=value} fields, each name and value written as a
 * length-prefixed UTF-8 string, so no prompt can forge a field boundary and the order in which the
 * parameters were given (defaults, overrides, JSON field order) does not matter. A parameter left
 * unset is encoded as absent, which differs from any value. Reference order matters (the first image
 * is the one the mask applies to), so references are encoded in order. The tenant is not part of the
 * key: the cache index lives under each tenant's own prefix, so a key is only ever looked up among
 * one tenant's renders.
 *
 * @param hex the key, 64 lower-case hex digits
 */
public record RenderKey(String hex) {

    /** Bumped when the encoding changes, so that old index entries simply stop matching. */
    static final String VERSION = "kiln-render-key/1";

    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    public RenderKey {
        if (hex == null || !HEX.matcher(hex).matches()) {
            throw new IllegalArgumentException("a render key is 64 lower-case hex digits");
        }
    }

    /**
     * The key of a render.
     *
     * @param prompt           the prompt
     * @param parameters       the resolved parameters (model included)
     * @param referenceSha256s hex SHA-256 of each reference image, in the job's order; empty for a generation
     * @param maskSha256       hex SHA-256 of the mask, or null
     */
    public static RenderKey of(String prompt, ImageParameters parameters, List<String> referenceSha256s, String maskSha256) {
        ImageParameters p = parameters == null ? ImageParameters.NONE : parameters;
        Map<String, String> fields = new TreeMap<>();
        fields.put("prompt", prompt);
        fields.put("model", p.model());
        fields.put("size", p.size());
        fields.put("quality", p.quality());
        fields.put("background", p.background());
        fields.put("output_format", p.outputFormat());
        fields.put("output_compression", p.outputCompression() == null ? null : p.outputCompression().toString());
        fields.put("moderation", p.moderation());
        // n = 1 and n unset render the same single image.
        fields.put("n", Integer.toString(p.n() == null ? 1 : p.n()));
        fields.put("input_fidelity", p.inputFidelity());
        List<String> references = referenceSha256s == null ? List.of() : referenceSha256s;
        fields.put("references", Integer.toString(references.size()));
        for (int i = 0; i < references.size(); i++) {
            // Zero-padded, so that the sorted order is the job's order.
            fields.put(String.format(Locale.ROOT, "reference.%02d", i), digest(references.get(i)));
        }
        fields.put("mask", maskSha256 == null ? null : digest(maskSha256));

        StringBuilder encoded = new StringBuilder();
        field(encoded, VERSION);
        for (Map.Entry<String, String> field : fields.entrySet()) {
            field(encoded, field.getKey());
            if (field.getValue() == null) {
                encoded.append('-');
            } else {
                field(encoded, field.getValue());
            }
        }
        return new RenderKey(sha256(encoded.toString()));
    }

    /** The key of {@code job}, given the digests of its references and mask. */
    public static RenderKey of(RenderJobRequested job, List<String> referenceSha256s, String maskSha256) {
        return of(job.prompt(), job.parameters(), referenceSha256s, maskSha256);
    }

    private static void field(StringBuilder out, String value) {
        out.append(value.getBytes(StandardCharsets.UTF_8).length).append(':').append(value);
    }

    private static String digest(String sha256) {
        String lower = sha256.toLowerCase(Locale.ROOT);
        if (!HEX.matcher(lower).matches()) {
            throw new IllegalArgumentException("not a hex SHA-256: " + sha256);
        }
        return lower;
    }

    private static String sha256(String text) {
        return Sha256.hexOf(text);
    }

    @Override
    public String toString() {
        return hex;
    }
}
