package dev.kiln.job;

/** The caller named something (a batch, a job, an upload) that does not exist for it. */
public class NotFoundException extends RuntimeException {

    public NotFoundException(String what, String id) {
        super("no " + what + " " + id);
    }
}
