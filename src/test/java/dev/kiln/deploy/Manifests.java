package dev.kiln.deploy;

import org.junit.jupiter.api.Assumptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Reads docker-compose.yml, the alert rules and the built kustomize overlays as plain maps. */
final class Manifests {

    static final Path COMPOSE = Path.of("docker-compose.yml");
    static final Path ALERTS = Path.of("deploy", "prometheus", "kiln-alerts.yml");
    static final Path ALERT_TESTS = Path.of("deploy", "prometheus", "kiln-alerts.test.yml");
    static final Path PROMETHEUS = Path.of("deploy", "prometheus", "prometheus.yml");
    static final Path DASHBOARD = Path.of("deploy", "grafana", "dashboards", "kiln.json");
    static final Path DOCKERFILE = Path.of("deploy", "Dockerfile");
    static final List<String> OVERLAYS = List.of("local", "production");

    private static final Map<String, List<Map<String, Object>>> BUILT = new ConcurrentHashMap<>();

    private Manifests() {
    }

    /** One YAML document. */
    static Map<String, Object> yaml(Path file) {
        return map(new Yaml(new LoaderOptions()).load(read(file)));
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code kubectl kustomize k8s/overlays/<overlay>}, or the test is skipped where kubectl is missing. */
    static List<Map<String, Object>> overlay(String overlay) {
        Assumptions.assumeTrue(onPath("kubectl"), "kubectl is not on PATH; .ci/run builds the overlays where it is");
        return BUILT.computeIfAbsent(overlay, Manifests::kustomize);
    }

    private static List<Map<String, Object>> kustomize(String overlay) {
        Run run = run(List.of("kubectl", "kustomize", Path.of("k8s", "overlays", overlay).toString()));
        if (run.exit() != 0) {
            throw new AssertionError("kubectl kustomize k8s/overlays/" + overlay + " failed:\n" + run.output());
        }
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml(new LoaderOptions()).loadAll(run.output())) {
            if (doc != null) {
                docs.add(map(doc));
            }
        }
        return docs;
    }

    /** The output of a command and its exit code. */
    record Run(int exit, String output) {
    }

    static Run run(List<String> command) {
        try {
            Path out = Files.createTempFile("kiln-deploy", ".out");
            try {
                Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError(String.join(" ", command) + " did not finish within 120 s");
                }
                return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static boolean onPath(String executable) {
        String path = Objects.requireNonNullElse(System.getenv("PATH"), "");
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, executable))) {
                return true;
            }
        }
        return false;
    }

    // ---- navigating plain maps ----

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return o == null ? Map.of() : (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return o == null ? List.of() : (List<Object>) o;
    }

    /** The value at a path of keys, or empty. */
    static Optional<Object> at(Map<String, Object> doc, String... keys) {
        Object current = doc;
        for (String key : keys) {
            if (!(current instanceof Map<?, ?> m) || !m.containsKey(key)) {
                return Optional.empty();
            }
            current = m.get(key);
        }
        return Optional.ofNullable(current);
    }

    static String string(Map<String, Object> doc, String... keys) {
        return at(doc, keys).map(String::valueOf).orElse(null);
    }

    static String kind(Map<String, Object> doc) {
        return string(doc, "kind");
    }

    static String name(Map<String, Object> doc) {
        return string(doc, "metadata", "name");
    }

    static List<Map<String, Object>> ofKind(List<Map<String, Object>> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(kind(d))).toList();
    }
}
