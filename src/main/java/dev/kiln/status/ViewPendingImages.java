package dev.kiln.status;

import dev.kiln.tenant.PendingImages;
import jakarta.enterprise.context.ApplicationScoped;

/** A tenant's pending images as the status view counts them (see {@link StatusView#pendingImages}). */
@ApplicationScoped
public class ViewPendingImages implements PendingImages {

    private final StatusView view;

    public ViewPendingImages(StatusView view) {
        this.view = view;
    }

    @Override
    public long pendingImages(String tenant) {
        return view.pendingImages(tenant);
    }
}
