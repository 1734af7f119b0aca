package dev.kiln.batch;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The lines of a streamed catalogue, kept on disk between the read that checks them and the Kafka
 * transaction that stages them. The transaction is opened only once the whole body has arrived:
 * a transaction open while a slow client uploads would hold back every read_committed reader of
 * {@code kiln.items} and {@code kiln.status} for as long, and a body held in memory instead would
 * make the heap grow with the catalogue. Deleted on {@link #close()}.
 */
final class CatalogueSpool implements AutoCloseable {

    private final Path file;
    private DataOutputStream out;
    private int lines;

    private CatalogueSpool(Path file) throws IOException {
        this.file = file;
        this.out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 64 * 1024));
    }

    /** A new, empty spool in {@code dir}. */
    static CatalogueSpool create(Path dir) {
        try {
            Files.createDirectories(dir);
            return new CatalogueSpool(Files.createTempFile(dir, "catalogue-", ".spool"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a spool file in " + dir, e);
        }
    }

    /** Adds line {@code number} of the body. */
    void add(int number, byte[] line, int length) throws IOException {
        out.writeInt(number);
        out.writeInt(length);
        out.write(line, 0, length);
        lines++;
    }

    /** How many lines it holds. */
    int size() {
        return lines;
    }

    /** One line read back. */
    record Line(int number, byte[] bytes) {
    }

    /** Reads the lines back in order, from the first; ends adding. */
    Reader reader() throws IOException {
        if (out != null) {
            out.close();
            out = null;
        }
        return new Reader(new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 64 * 1024)));
    }

    /** The lines in the order they were added. */
    static final class Reader implements AutoCloseable {
        private final DataInputStream in;

        private Reader(DataInputStream in) {
            this.in = in;
        }

        /** The next line; null after the last. */
        Line next() throws IOException {
            int number;
            try {
                number = in.readInt();
            } catch (EOFException end) {
                return null;
            }
            byte[] bytes = new byte[in.readInt()];
            in.readFully(bytes);
            return new Line(number, bytes);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    @Override
    public void close() {
        // Never throws: a batch may be committed already, and a spool file left behind must not
        // turn its 202 into a 500. The file is deleted even when closing the stream failed.
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            io.quarkus.logging.Log.warnf("closing the spool file %s failed: %s", file, e.toString());
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                io.quarkus.logging.Log.warnf("could not delete the spool file %s: %s", file, e.toString());
            }
        }
    }
}
