package dev.kiln.provider;

import dev.kiln.job.ImageParameters;
import dev.kiln.reference.FetchedReferences;

import java.nio.file.Path;

/**
 * The Images API as the worker sees it: one call, images decoded into a folder or a classified
 * failure. {@link ImagesApiClient} calls OpenAI (or the simulator); tests of the worker's
 * decisions put a fake behind this interface.
 */
public interface ImagesProvider {

    /**
     * {@code POST /images/generations}: renders {@code prompt} and decodes every image into {@code workDir}.
     *
     * @throws InterruptedException when shutdown interrupts the call: it tells nothing of the provider
     */
    ProviderAnswer generate(String prompt, ImageParameters parameters, Path workDir) throws InterruptedException;

    /**
     * {@code POST /images/edits}: renders {@code prompt} from the fetched references and mask and
     * decodes every image into {@code workDir}.
     *
     * @throws InterruptedException when shutdown interrupts the call
     */
    ProviderAnswer edit(String prompt, ImageParameters parameters, FetchedReferences references, Path workDir)
            throws InterruptedException;
}
