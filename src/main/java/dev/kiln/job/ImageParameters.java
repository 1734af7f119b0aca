package dev.kiln.job;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The Images API parameters of one render, as gpt-image-2 names them: the one type that a
 * batch's defaults, an item's overrides, a job on {@code kiln.jobs}, the provider request and
 * the gpt-image-2 rules all share. A new parameter is a new field here plus its rule in
 * {@code GptImageRules}; the request records take it through {@code @JsonUnwrapped}.
 *
 * <p>Every field is optional: null means "not given", and the provider's default applies.
 * Defaults and overrides are merged with {@link #overriddenBy(ImageParameters)}; a job carries
 * the merged, resolved set.
 *
 * @param model             {@code gpt-image-2} or any {@code gpt-image-*} model
 * @param size              {@code auto} or {@code WxH}
 * @param quality           {@code low}, {@code medium}, {@code high} or {@code auto}
 * @param background        {@code transparent}, {@code opaque} or {@code auto}
 * @param outputFormat      {@code png}, {@code jpeg} or {@code webp}
 * @param outputCompression 0 to 100, jpeg and webp only
 * @param moderation        {@code auto} or {@code low}
 * @param n                 images per request, 1 to 10
 * @param inputFidelity     {@code high} or {@code low}, edits only
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ImageParameters(
        String model,
        String size,
        String quality,
        String background,
        @JsonProperty("output_format") String outputFormat,
        @JsonProperty("output_compression") Integer outputCompression,
        String moderation,
        Integer n,
        @JsonProperty("input_fidelity") String inputFidelity) {

    /** No parameter set: the provider's defaults apply. */
    public static final ImageParameters NONE = new ImageParameters(null, null, null, null, null, null, null, null, null);

    /** This set with every field that {@code override} sets taken from it. */
    public ImageParameters overriddenBy(ImageParameters override) {
        if (override == null) {
            return this;
        }
        return new ImageParameters(
                pick(override.model, model),
                pick(override.size, size),
                pick(override.quality, quality),
                pick(override.background, background),
                pick(override.outputFormat, outputFormat),
                pick(override.outputCompression, outputCompression),
                pick(override.moderation, moderation),
                pick(override.n, n),
                pick(override.inputFidelity, inputFidelity));
    }

    /** This set without {@code input_fidelity}, which only an edit may send. */
    public ImageParameters forGeneration() {
        return new ImageParameters(model, size, quality, background, outputFormat, outputCompression, moderation, n, null);
    }

    /** This set with {@code model} given, unless it names one already. */
    public ImageParameters withDefaultModel(String defaultModel) {
        return model != null ? this : new ImageParameters(defaultModel, size, quality, background, outputFormat,
                outputCompression, moderation, n, inputFidelity);
    }

    private static <T> T pick(T preferred, T fallback) {
        return preferred != null ? preferred : fallback;
    }
}
