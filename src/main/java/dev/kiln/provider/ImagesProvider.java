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

    // Every call names the end user to the provider for abuse monitoring ({@code user}, as OpenAI
    // recommends): {@link #userOf} of the tenant, never the tenant id itself.

    /**
     * OpenAI's abuse-monitoring {@code user} for a tenant: a stable, non-reversible name
     * ({@code kiln_} and the first 32 hex digits of SHA-256 of {@code kiln-tenant:} and its id).
     */
    static String userOf(String tenant) {
        byte[] digest = dev.kiln.job.Sha256.of(("kiln-tenant:" + tenant).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return "kiln_" + java.util.HexFormat.of().formatHex(digest, 0, 16);
    }

    /**
     * {@code POST /images/generations}: renders {@code prompt} and decodes every image into {@code workDir}.
     *
     * @param sent called once, when the request starts to go out to the provider (its rate permits
     *             count it from then: {@link RenderPermits#sent(RenderPermits.Permit)})
     * @throws InterruptedException when shutdown interrupts the call: it tells nothing of the provider
     */
    ProviderAnswer generate(String user, String prompt, ImageParameters parameters, Path workDir, Runnable sent)
            throws InterruptedException;

    /**
     * {@code POST /images/edits}: renders {@code prompt} from the fetched references and mask and
     * decodes every image into {@code workDir}.
     *
     * @param sent called once, when the request starts to go out to the provider
     * @throws InterruptedException when shutdown interrupts the call
     */
    ProviderAnswer edit(String user, String prompt, ImageParameters parameters, FetchedReferences references, Path workDir,
                        Runnable sent) throws InterruptedException;
}
