package dev.kiln.batch;

import java.util.List;

/**
 * The references of one item after resolution: the defaults' first, then the item's own, and
 * the mask that applies (the item's, else the defaults').
 *
 * @param images references in the order the provider receives them; empty for a generation
 * @param mask   the mask, or null
 */
public record ResolvedReferences(List<ResolvedReference> images, ResolvedReference mask) {

    /** A generation: nothing to edit. */
    public static final ResolvedReferences NONE = new ResolvedReferences(List.of(), null);

    /** The locations of {@link #images()}, as {@code RenderJobRequested.referenceImages}. */
    public List<String> locations() {
        return images.stream().map(ResolvedReference::location).toList();
    }

    /** The mask's location, as {@code RenderJobRequested.mask}; null when there is none. */
    public String maskLocation() {
        return mask == null ? null : mask.location();
    }

    /** True when the item is an edit. */
    public boolean isEdit() {
        return !images.isEmpty();
    }
}
