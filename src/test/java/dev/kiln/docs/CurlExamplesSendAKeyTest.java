package dev.kiln.docs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every curl example that calls Kiln's API in the README and docs/ sends a key
 * ({@code Authorization: Bearer …}), so that it works as written with authentication on. A curl that
 * fetches a presigned S3 URL must not: S3 refuses a request signed twice.
 */
class CurlExamplesSendAKeyTest {

    /** A curl command line that names a path of Kiln's API. */
    private static final Pattern API_CALL = Pattern.compile("curl\\b.*localhost:8080/v1/");

    @Test
    void everyApiCallInTheReadmeAndDocsSendsAKey() throws IOException {
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (Path file : markdownFiles()) {
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                String command = commandAt(lines, i);
                if (!API_CALL.matcher(command).find()) {
                    continue;
                }
                checked++;
                if (!command.contains("Authorization: Bearer ")) {
                    missing.add(file + ":" + (i + 1) + ": " + lines.get(i).trim());
                }
            }
        }
        assertThat(checked).as("curl examples found").isGreaterThanOrEqualTo(20);
        assertThat(missing).as("curl examples without the key").isEmpty();
    }

    @Test
    void fetchingAPresignedUrlSendsNoKey() throws IOException {
        List<String> readme = Files.readAllLines(Path.of("README.md"));
        assertThat(readme).anyMatch(l -> l.contains("xargs curl"))
                .filteredOn(l -> l.contains("xargs curl")).noneMatch(l -> l.contains("Authorization"));
    }

    /** The command line starting at line {@code i}, continuation lines ({@code \}) joined; empty unless it holds a curl. */
    private static String commandAt(List<String> lines, int i) {
        String line = lines.get(i);
        if (!line.contains("curl ")) {
            return "";
        }
        // A curl fed by a pipe on the next line keeps its own options: join only backslash continuations.
        StringBuilder command = new StringBuilder(line);
        for (int j = i; j < lines.size() - 1 && lines.get(j).stripTrailing().endsWith("\\"); j++) {
            command.append(' ').append(lines.get(j + 1));
        }
        return command.toString();
    }

    private static List<Path> markdownFiles() throws IOException {
        List<Path> files = new ArrayList<>(List.of(Path.of("README.md")));
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        return files;
    }
}
