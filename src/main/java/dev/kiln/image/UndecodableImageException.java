package dev.kiln.image;

import java.io.IOException;

/** A file is not an image Kiln accepts; the message says why, fit to show to the client. */
public class UndecodableImageException extends IOException {

    /** Why the image was refused. */
    public enum Kind {
        /** Not a PNG, JPEG or WebP at all. */
        NOT_AN_IMAGE,
        /** More pixels than accepted. */
        TOO_MANY_PIXELS,
        /** The right kind of file, but broken. */
        CORRUPT
    }

    private final Kind kind;

    public UndecodableImageException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    /** Why the image was refused. */
    public Kind kind() {
        return kind;
    }
}
