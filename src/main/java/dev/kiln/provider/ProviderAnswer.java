package dev.kiln.provider;

/**
 * What one call to the Images API gave: images on local disk, or a classified failure. An
 * interruption (shutdown) is neither: the call ends with {@link InterruptedException}.
 */
public sealed interface ProviderAnswer {

    /** The provider answered with images. */
    record Rendered(RenderedImages images) implements ProviderAnswer {
    }

    /** The provider (or the way to it) failed. */
    record Failed(ProviderFailure failure) implements ProviderAnswer {
    }

    /** A transient failure answer. */
    static ProviderAnswer transientFault(String code, String message) {
        return new Failed(ProviderFailure.transientFault(code, message));
    }
}
