package dev.kiln.simulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The Files API's storage: every file in a temporary directory of its own, deleted on
 * {@link #close()}. On disk rather than in memory because a batch's output carries every image as
 * base64 and an input file may be 200 MB.
 */
final class FileStore implements AutoCloseable {

    /**
     * One stored file, as OpenAI's File object describes it.
     *
     * @param id        {@code file-} and 24 hex digits
     * @param filename  the name it was uploaded (or produced) under
     * @param purpose   {@code batch} for an input, {@code batch_output} for an output or error file, ...
     * @param bytes     its size
     * @param createdAt Unix seconds
     * @param path      where its content is
     */
    record StoredFile(String id, String filename, String purpose, long bytes, long createdAt, Path path) {

        /** The File object: {@code status} and {@code status_details} are deprecated but still sent. */
        Map<String, Object> toJson() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("id", id);
            out.put("object", "file");
            out.put("bytes", bytes);
            out.put("created_at", createdAt);
            out.put("expires_at", null);
            out.put("filename", filename);
            out.put("purpose", purpose);
            out.put("status", "processed");
            out.put("status_details", null);
            return out;
        }
    }

    private final Path directory;
    private final Map<String, StoredFile> files = new ConcurrentHashMap<>();

    FileStore() {
        try {
            directory = Files.createTempDirectory("kiln-simulator-files-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the simulator's file directory", e);
        }
    }

    /** A new file id and the path to write its content to; {@link #register} makes it visible. */
    String newId() {
        byte[] id = new byte[12];
        ThreadLocalRandom.current().nextBytes(id);
        return "file-" + HexFormat.of().formatHex(id);
    }

    Path pathOf(String id) {
        return directory.resolve(id);
    }

    /** Stores {@code content} as a new file. */
    StoredFile store(String filename, String purpose, byte[] content) throws IOException {
        String id = newId();
        Files.write(pathOf(id), content);
        return register(id, filename, purpose);
    }

    /** Makes the content already written at {@link #pathOf(String) pathOf(id)} a file. */
    StoredFile register(String id, String filename, String purpose) throws IOException {
        Path path = pathOf(id);
        StoredFile file = new StoredFile(id, filename, purpose, Files.size(path), System.currentTimeMillis() / 1000, path);
        files.put(id, file);
        return file;
    }

    Optional<StoredFile> get(String id) {
        return Optional.ofNullable(files.get(id));
    }

    /** Deletes every file and the directory. */
    @Override
    public void close() {
        files.clear();
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }
}
