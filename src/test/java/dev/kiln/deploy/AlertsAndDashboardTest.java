package dev.kiln.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.kiln.deploy.Manifests.list;
import static dev.kiln.deploy.Manifests.map;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The alert rules are valid and behave as intended (promtool), and every Kiln metric that the
 * rules and the dashboard query is one that the code registers, under the name Micrometer's
 * Prometheus registry gives it.
 */
class AlertsAndDashboardTest {

    /** A meter as the code builds it: {@code Counter.builder("kiln.cost.usd")...baseUnit("usd")}. */
    private static final Pattern METER = Pattern.compile(
            "\\b(Counter|Timer|Gauge|DistributionSummary|LongTaskTimer)\\.builder\\(\\s*\"([^\"]+)\"([^;]*?)\\.register\\(",
            Pattern.DOTALL);
    private static final Pattern BASE_UNIT = Pattern.compile("\\.baseUnit\\(\\s*\"([^\"]+)\"");
    private static final Pattern KILN_METRIC = Pattern.compile("\\bkiln_[a-z0-9_]+\\b");
    private static final Pattern ANY_METRIC = Pattern.compile("\\b([a-z_][a-z0-9_]*)\\s*(?=\\{|\\[|\\)|$)");
    /** Metrics of the other exporters the rules rely on: kafka_exporter (or Strimzi's) and Prometheus itself. */
    private static final Set<String> EXTERNAL = Set.of("kafka_consumergroup_lag", "kafka_topic_partition_current_offset", "up");

    @Test
    void promtoolAcceptsAndUnitTestsTheRules() {
        Assumptions.assumeTrue(Manifests.onPath("promtool"),
                "promtool is not on PATH; .ci/run installs Debian's prometheus package for it");
        Manifests.Run check = Manifests.run(List.of("promtool", "check", "rules", Manifests.ALERTS.toString()));
        assertThat(check.exit()).as("promtool check rules:\n" + check.output()).isZero();
        Manifests.Run test = Manifests.run(List.of("promtool", "test", "rules", Manifests.ALERT_TESTS.toString()));
        assertThat(test.exit()).as("promtool test rules:\n" + test.output()).isZero();
    }

    @Test
    void rulesAndDashboardQueryOnlyMetricsThatExist() throws IOException {
        Set<String> exported = exportedKilnMetrics();
        assertThat(exported).as("Kiln metrics found in the sources").isNotEmpty();

        List<String> expressions = new ArrayList<>(ruleExpressions());
        expressions.addAll(dashboardExpressions());
        assertThat(expressions).isNotEmpty();

        Set<String> queried = new TreeSet<>();
        Set<String> other = new TreeSet<>();
        for (String expr : expressions) {
            Matcher kiln = KILN_METRIC.matcher(expr);
            while (kiln.find()) {
                queried.add(kiln.group());
            }
            Matcher any = ANY_METRIC.matcher(expr.replaceAll("\"[^\"]*\"", "\"\""));
            while (any.find()) {
                String name = any.group(1);
                if (!name.startsWith("kiln_") && name.contains("_") && !isPromQlWord(name)) {
                    other.add(name);
                }
            }
        }
        assertThat(queried).as("Kiln metrics the rules and dashboard query, against those the code exports")
                .isSubsetOf(exported);
        assertThat(other).as("non-Kiln metrics, which only the documented exporters provide").isSubsetOf(EXTERNAL);
    }

    private static boolean isPromQlWord(String name) {
        return Set.of("clamp_min", "clamp_max", "label_replace", "histogram_quantile", "count_over_time",
                "max_over_time", "min_over_time", "avg_over_time", "sum_over_time", "__rate_interval", "__range")
                .contains(name);
    }

    /** The names Micrometer's Prometheus registry gives every meter the main sources build. */
    static Set<String> exportedKilnMetrics() throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Stream<Path> files = Files.walk(Path.of("src", "main", "java"))) {
            for (Path file : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = METER.matcher(Manifests.read(file));
                while (m.find()) {
                    Matcher unit = BASE_UNIT.matcher(m.group(3));
                    register(registry, m.group(1), m.group(2), unit.find() ? unit.group(1) : null,
                            m.group(3).contains(".publishPercentileHistogram(") || m.group(3).contains(".serviceLevelObjectives("));
                }
            }
        }
        Set<String> names = new TreeSet<>();
        for (String line : registry.scrape().split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String name = line.split("[{ ]", 2)[0];
                if (name.startsWith("kiln_")) {
                    names.add(name);
                }
            }
        }
        registry.close();
        return names;
    }

    private static void register(MeterRegistry registry, String type, String name, String baseUnit, boolean histogram) {
        switch (type) {
            case "Counter" -> Counter.builder(name).baseUnit(baseUnit).register(registry).increment();
            // With publishPercentileHistogram() or bucket bounds, Prometheus also gets <name>_seconds_bucket.
            case "Timer" -> Timer.builder(name).publishPercentileHistogram(histogram).register(registry)
                    .record(Duration.ofMillis(1));
            case "DistributionSummary" -> DistributionSummary.builder(name).baseUnit(baseUnit).register(registry).record(1);
            case "LongTaskTimer" -> LongTaskTimer.builder(name).register(registry);
            case "Gauge" -> Gauge.builder(name, () -> 1).baseUnit(baseUnit).register(registry);
            default -> throw new AssertionError(type);
        }
    }

    private static List<String> ruleExpressions() {
        List<String> exprs = new ArrayList<>();
        for (Object g : list(Manifests.yaml(Manifests.ALERTS).get("groups"))) {
            for (Object r : list(map(g).get("rules"))) {
                exprs.add(String.valueOf(map(r).get("expr")));
            }
        }
        return exprs;
    }

    private static List<String> dashboardExpressions() throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(Manifests.DASHBOARD.toFile());
        List<String> exprs = new ArrayList<>();
        for (JsonNode expr : dashboard.findValues("expr")) {
            exprs.add(expr.asText());
        }
        return exprs;
    }
}
