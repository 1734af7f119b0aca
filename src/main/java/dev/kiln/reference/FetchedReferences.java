package dev.kiln.reference;

import java.util.List;

/**
 * The inputs of an edit, ready to send.
 *
 * @param images the references in the job's order; the first is the one the mask applies to.
 *               Empty for a generation
 * @param mask   the mask, null without one
 */
public record FetchedReferences(List<ReferenceImage> images, ReferenceImage mask) {

    /** A generation: nothing to send. */
    public static final FetchedReferences NONE = new FetchedReferences(List.of(), null);

    /** Whether these make the job an edit. */
    public boolean isEdit() {
        return !images.isEmpty();
    }
}
