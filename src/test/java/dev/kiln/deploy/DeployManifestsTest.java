package dev.kiln.deploy;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.kiln.deploy.Manifests.at;
import static dev.kiln.deploy.Manifests.kind;
import static dev.kiln.deploy.Manifests.list;
import static dev.kiln.deploy.Manifests.map;
import static dev.kiln.deploy.Manifests.name;
import static dev.kiln.deploy.Manifests.ofKind;
import static dev.kiln.deploy.Manifests.string;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * docker-compose.yml and the built kustomize overlays agree with the code: every variable set on
 * Kiln is a real setting, probes name real paths and ports, KEDA watches the workers' own group
 * and topic, topics have the partitions Kiln would create, and every image is pinned.
 */
class DeployManifestsTest {

    /** Kubernetes' own room after the shutdown deadline: Kafka's close and the last commit (WorkerConfig). */
    private static final Duration KAFKA_CLOSE_MARGIN = Duration.ofSeconds(15);
    private static final Pattern POM_VERSION = Pattern.compile(
            "<artifactId>kiln</artifactId>\\s*<version>([^<]+)</version>");

    private static final Pattern COMPOSE_VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?}");

    private static KilnSettings settings;

    @BeforeAll
    static void readCode() {
        settings = KilnSettings.load();
    }

    static Stream<String> overlays() {
        return Manifests.OVERLAYS.stream();
    }

    // ---------------------------------------------------------------- docker-compose.yml

    @Test
    void composeSetsOnlyRealKilnSettings() {
        Map<String, Map<String, String>> kilnServices = composeKilnServices();
        assertThat(kilnServices).as("Kiln services in docker-compose.yml")
                .containsKeys("kiln-api", "kiln-dispatcher", "kiln-worker");
        kilnServices.forEach((service, env) -> assertRealSettings("docker-compose.yml service " + service, env.keySet()));
        assertThat(kilnServices.get("kiln-api")).containsEntry("KILN_ROLE", "api");
        assertThat(kilnServices.get("kiln-worker")).containsEntry("KILN_ROLE", "worker");
        assertThat(kilnServices.get("kiln-dispatcher")).containsEntry("KILN_ROLE", "dispatcher");
    }

    @Test
    void composeSimulatorSettingsAreRealSimulatorSettings() {
        Map<String, Object> services = map(Manifests.yaml(Manifests.COMPOSE).get("services"));
        int simulators = 0;
        for (Map.Entry<String, Object> e : services.entrySet()) {
            Map<String, Object> service = map(e.getValue());
            Optional<String> main = simulatorMain(list(service.get("command")));
            if (main.isPresent()) {
                simulators++;
                assertSimulatorAccepts("docker-compose.yml service " + e.getKey(), main.get(), environment(service));
            }
        }
        assertThat(simulators).as("services running the simulator").isEqualTo(1);
    }

    @Test
    void composeWorkersScale() {
        Map<String, Object> worker = map(map(Manifests.yaml(Manifests.COMPOSE).get("services")).get("kiln-worker"));
        assertThat(worker).as("`docker compose up --scale kiln-worker=3` needs no fixed name and no host port")
                .doesNotContainKeys("container_name", "ports", "hostname");
    }

    @Test
    void composeGivesWorkersTheirShutdownDeadline() {
        Map<String, Object> worker = map(map(Manifests.yaml(Manifests.COMPOSE).get("services")).get("kiln-worker"));
        Duration deadline = shutdownDeadline(environment(worker));
        Object grace = worker.get("stop_grace_period");
        assertThat(grace).as("kiln-worker stop_grace_period").isNotNull();
        assertThat(composeDuration(String.valueOf(grace)))
                .as("kiln-worker stop_grace_period against the shutdown deadline %s", deadline)
                .isGreaterThanOrEqualTo(deadline.plus(KAFKA_CLOSE_MARGIN));
    }

    @Test
    void composeKeepsStreamsStateOnNamedVolumes() {
        Map<String, Object> services = map(Manifests.yaml(Manifests.COMPOSE).get("services"));
        Set<String> named = map(Manifests.yaml(Manifests.COMPOSE).get("volumes")).keySet();
        STATE_DIRS.forEach((setting, role) -> {
            String service = "kiln-" + role;
            Map<String, Object> body = map(services.get(service));
            String dir = environment(body).get(KilnSettings.envName(setting));
            assertThat(dir).as(service + " " + KilnSettings.envName(setting)).isNotNull();
            boolean mounted = list(body.get("volumes")).stream().map(String::valueOf)
                    .anyMatch(v -> v.endsWith(":" + dir) && named.contains(v.substring(0, v.indexOf(':'))));
            assertThat(mounted).as(service + ": " + dir + " is a named volume").isTrue();
        });
    }

    @Test
    void composeImagesArePinned() {
        Map<String, Object> services = map(Manifests.yaml(Manifests.COMPOSE).get("services"));
        services.forEach((service, body) -> assertPinned("docker-compose.yml service " + service,
                string(map(body), "image")));
    }

    @Test
    void imageHealthCheckAndComposeScrapesUseRealPaths() {
        String dockerfile = Manifests.read(Manifests.DOCKERFILE);
        Matcher health = Pattern.compile("HEALTHCHECK[^\\n]*(?:\\\\\\n[^\\n]*)*?http://127\\.0\\.0\\.1:(\\d+)(/\\S+)")
                .matcher(dockerfile);
        assertThat(health.find()).as("deploy/Dockerfile has an HTTP HEALTHCHECK").isTrue();
        assertThat(Integer.parseInt(health.group(1))).as("HEALTHCHECK port").isEqualTo(httpPort());
        assertThat(health.group(2)).as("HEALTHCHECK path").isEqualTo(healthPath("readiness-path", "ready"));

        Matcher from = Pattern.compile("(?m)^FROM\\s+(\\S+)").matcher(dockerfile);
        while (from.find()) {
            assertPinned("deploy/Dockerfile FROM", from.group(1));
        }

        Map<String, Object> prometheus = Manifests.yaml(Manifests.PROMETHEUS);
        List<String> jobs = new ArrayList<>();
        for (Object o : list(prometheus.get("scrape_configs"))) {
            Map<String, Object> job = map(o);
            String jobName = string(job, "job_name");
            if (jobName.startsWith("kiln-")) {
                jobs.add(jobName);
                assertThat(string(job, "metrics_path")).as(jobName + " metrics_path").isEqualTo(metricsPath());
                for (Object sd : list(job.get("dns_sd_configs"))) {
                    assertThat(at(map(sd), "port").map(Object::toString)).as(jobName + " port")
                            .contains(String.valueOf(httpPort()));
                }
            }
        }
        // The alert rules and the dashboard select by these job names, in compose and in Kubernetes.
        assertThat(jobs).containsExactlyInAnyOrder("kiln-api", "kiln-dispatcher", "kiln-worker");
    }

    // ---------------------------------------------------------------- Kubernetes overlays

    @ParameterizedTest
    @MethodSource("overlays")
    void overlaySetsOnlyRealKilnSettings(String overlay) {
        List<Map<String, Object>> docs = Manifests.overlay(overlay);
        List<Workload> kiln = kilnWorkloads(docs);
        assertThat(kiln).extracting(Workload::role).as("roles in " + overlay).contains("api", "dispatcher", "worker");
        for (Workload w : kiln) {
            assertRealSettings(overlay + " " + w.kind() + "/" + w.name(), w.env().keySet());
        }
        for (Map<String, Object> doc : workloads(docs)) {
            for (Map<String, Object> c : containers(doc)) {
                Optional<String> main = simulatorMain(list(c.get("command")));
                if (main.isPresent()) {
                    assertSimulatorAccepts(overlay + " " + name(doc), main.get(), containerEnv(docs, c));
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void probesUseQuarkusHealthPathsOnTheHttpPort(String overlay) {
        Set<String> healthPaths = Set.of(healthPath("liveness-path", "live"), healthPath("readiness-path", "ready"),
                healthPath("startup-path", "started"));
        for (Workload w : kilnWorkloads(Manifests.overlay(overlay))) {
            Map<String, Object> c = w.container();
            assertThat(c).as(w.name() + " probes").containsKeys("livenessProbe", "readinessProbe");
            assertThat(string(c, "livenessProbe", "httpGet", "path")).isEqualTo(healthPath("liveness-path", "live"));
            assertThat(string(c, "readinessProbe", "httpGet", "path")).isEqualTo(healthPath("readiness-path", "ready"));
            for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                if (!c.containsKey(probe)) {
                    continue;
                }
                String where = overlay + " " + w.name() + " " + probe;
                assertThat(string(c, probe, "httpGet", "path")).as(where + " path").isIn(healthPaths);
                assertThat(containerPort(c, at(c, probe, "httpGet", "port").orElseThrow()))
                        .as(where + " port").isEqualTo(httpPort());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void servicesAndServiceMonitorReachTheHttpPort(String overlay) {
        List<Map<String, Object>> docs = Manifests.overlay(overlay);
        List<Workload> kiln = kilnWorkloads(docs);
        for (Map<String, Object> svc : ofKind(docs, "Service")) {
            Map<String, Object> selector = map(at(svc, "spec", "selector").orElse(null));
            for (Workload w : kiln) {
                if (!selector.isEmpty() && w.labels().entrySet().containsAll(selector.entrySet())) {
                    for (Object p : list(at(svc, "spec", "ports").orElse(null))) {
                        Object target = map(p).getOrDefault("targetPort", map(p).get("port"));
                        assertThat(containerPort(w.container(), target)).as("Service " + name(svc) + " targetPort")
                                .isEqualTo(httpPort());
                    }
                }
            }
        }
        for (Map<String, Object> monitor : ofKind(docs, "ServiceMonitor")) {
            Map<String, Object> selector = map(at(monitor, "spec", "selector", "matchLabels").orElse(null));
            List<String> scraped = ofKind(docs, "Service").stream()
                    .filter(s -> map(at(s, "metadata", "labels").orElse(null)).entrySet().containsAll(selector.entrySet()))
                    .map(Manifests::name).toList();
            // Prometheus names the job after the Service; the rules and the dashboard use these names.
            assertThat(scraped).as("Services the ServiceMonitor scrapes")
                    .containsExactlyInAnyOrder("kiln-api", "kiln-dispatcher", "kiln-worker");
            for (Object e : list(at(monitor, "spec", "endpoints").orElse(null))) {
                assertThat(string(map(e), "path")).as("ServiceMonitor path").isEqualTo(metricsPath());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void workerGracePeriodCoversTheShutdownDeadline(String overlay) {
        for (Workload w : kilnWorkloads(Manifests.overlay(overlay))) {
            if (!w.role().equals("worker")) {
                continue;
            }
            Duration deadline = shutdownDeadline(w.env());
            Object grace = at(w.doc(), "spec", "template", "spec", "terminationGracePeriodSeconds").orElse(30);
            assertThat(Duration.ofSeconds(((Number) grace).longValue()))
                    .as(overlay + " " + w.name() + " terminationGracePeriodSeconds against the deadline " + deadline)
                    .isGreaterThanOrEqualTo(deadline.plus(KAFKA_CLOSE_MARGIN));
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyKilnProcessIsNamedByItsPod(String overlay) {
        List<Workload> kiln = kilnWorkloads(Manifests.overlay(overlay));
        assertThat(kiln).extracting(Workload::role).contains("api", "dispatcher", "worker");
        for (Workload w : kiln) {
            Map<String, Object> instanceId = list(w.container().get("env")).stream().map(e -> map(e))
                    .filter(e -> "KILN_INSTANCE_ID".equals(e.get("name"))).findFirst().orElse(null);
            assertThat(instanceId).as(overlay + " " + w.name() + " sets KILN_INSTANCE_ID").isNotNull();
            assertThat(at(instanceId, "valueFrom", "fieldRef", "fieldPath"))
                    .as(overlay + " " + w.name() + ": KILN_INSTANCE_ID from the pod's name (downward API), "
                            + "unique per replica and kept across container restarts")
                    .contains("metadata.name");
        }
        assertThat(settings.isSetting("KILN_INSTANCE_ID")).isTrue();
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void kedaScalesTheWorkersOnTheirOwnGroupAndTopic(String overlay) {
        List<Map<String, Object>> docs = Manifests.overlay(overlay);
        List<Map<String, Object>> scaledObjects = ofKind(docs, "ScaledObject");
        List<Workload> workers = kilnWorkloads(docs).stream().filter(w -> w.role().equals("worker")).toList();
        for (Map<String, Object> so : scaledObjects) {
            String target = string(so, "spec", "scaleTargetRef", "name");
            Workload worker = workers.stream().filter(w -> w.name().equals(target)).findFirst()
                    .orElseThrow(() -> new AssertionError(overlay + ": ScaledObject " + name(so)
                            + " scales " + target + ", which is not a Kiln worker"));
            for (Object t : list(at(so, "spec", "triggers").orElse(null))) {
                Map<String, Object> trigger = map(t);
                if (!"kafka".equals(trigger.get("type"))) {
                    continue;
                }
                Map<String, Object> meta = map(trigger.get("metadata"));
                String topic = string(meta, "topic");
                String channel = incomingChannelOf(topic);
                String where = overlay + " ScaledObject " + name(so);
                assertThat(string(meta, "consumerGroup")).as(where + " consumerGroup")
                        .isEqualTo(settings.property("mp.messaging.incoming." + channel + ".group.id").orElse(null));
                assertThat(string(meta, "offsetResetPolicy")).as(where + " offsetResetPolicy (a group with no commit "
                                + "must count its lag as the worker would read it)")
                        .isEqualTo(settings.property("mp.messaging.incoming." + channel + ".auto.offset.reset").orElse("latest"));
                assertThat(string(meta, "bootstrapServers")).as(where + " bootstrapServers")
                        .isEqualTo(worker.env().get("KAFKA_BOOTSTRAP_SERVERS"));
                int partitions = Integer.parseInt(settings.mappingDefault("kiln.topics.jobs-partitions").orElseThrow());
                assertThat(((Number) at(so, "spec", "maxReplicaCount").orElseThrow()).intValue())
                        .as(where + " maxReplicaCount against the partitions of " + topic).isLessThanOrEqualTo(partitions);
            }
        }
        if (overlay.equals("production")) {
            assertThat(scaledObjects).as("production scales workers with KEDA").isNotEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void topicsMatchTheCodesDefaults(String overlay) {
        List<Map<String, Object>> docs = Manifests.overlay(overlay);
        List<Map<String, Object>> topics = ofKind(docs, "KafkaTopic");
        boolean kilnCreatesTopics = kilnWorkloads(docs).stream()
                .allMatch(w -> !"false".equals(w.env().get(KilnSettings.envName("kiln.topics.create"))));
        if (topics.isEmpty()) {
            assertThat(kilnCreatesTopics).as(overlay + " has no KafkaTopics, so Kiln must create its topics").isTrue();
            return;
        }
        Map<String, Integer> expected = expectedTopics();
        Map<String, Integer> actual = new TreeMap<>();
        for (Map<String, Object> t : topics) {
            String topic = Optional.ofNullable(string(t, "spec", "topicName")).orElse(name(t));
            actual.put(topic, ((Number) at(t, "spec", "partitions").orElseThrow()).intValue());
            Map<String, Object> config = map(at(t, "spec", "config").orElse(null));
            // TopicSetup creates topics without configs: retention and cleanup are the broker's defaults.
            assertThat(config).as(overlay + " KafkaTopic " + topic + " sets no retention of its own, as TopicSetup")
                    .doesNotContainKeys("retention.ms", "retention.bytes");
            String policy = COMPACTED_TOPICS.contains(topic) ? "compact" : "delete";
            assertThat(config.getOrDefault("cleanup.policy", "delete")).as(topic + " cleanup.policy").isEqualTo(policy);
        }
        assertThat(actual).as(overlay + " KafkaTopics and their partitions").isEqualTo(expected);
    }

    @Test
    void topicSetupStillCreatesTopicsWithoutConfigs() throws Exception {
        // The KafkaTopics above assume the code sets no topic configs but compaction of the topics
        // in COMPACTED_TOPICS; this notices when it starts to set any other.
        try (Stream<Path> files = Files.walk(Path.of("src", "main", "java"))) {
            List<Path> creators = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> Manifests.read(p).contains("new NewTopic(")).toList();
            assertThat(creators).as("sources that create topics").isNotEmpty();
            for (Path p : creators) {
                String source = Manifests.read(p);
                int configs = source.split("\\.configs\\(", -1).length - 1;
                int compactions = source.split("CLEANUP_POLICY_COMPACT", -1).length - 1;
                assertThat(configs).as(p + " sets topic configs: mirror them in k8s/base/kafka-topics.yaml")
                        .isEqualTo(compactions).isEqualTo(COMPACTED_TOPICS.size());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void imagesArePinned(String overlay) {
        for (Map<String, Object> doc : workloads(Manifests.overlay(overlay))) {
            Map<String, Object> pod = map(at(doc, "spec", "template", "spec").orElse(null));
            for (String key : List.of("initContainers", "containers")) {
                for (Object c : list(pod.get(key))) {
                    assertPinned(overlay + " " + kind(doc) + "/" + name(doc), string(map(c), "image"));
                }
            }
        }
    }

    /** Kafka Streams state that must survive a restart: the setting, and the roles that keep it. */
    private static final Map<String, String> STATE_DIRS = Map.of(
            "kiln.status-view.state-dir", "api",
            "kiln.webhooks.state-dir", "api",
            "kiln.dispatcher.state-dir", "dispatcher");

    @ParameterizedTest
    @MethodSource("overlays")
    void streamsStateLivesOnPersistentVolumes(String overlay) {
        List<Workload> kiln = kilnWorkloads(Manifests.overlay(overlay));
        STATE_DIRS.forEach((setting, role) -> {
            String variable = KilnSettings.envName(setting);
            for (Workload w : kiln.stream().filter(w -> w.role().equals(role)).toList()) {
                String where = overlay + " " + w.name() + " " + variable;
                assertThat(w.kind()).as(where + ": state on a volume per replica needs a StatefulSet").isEqualTo("StatefulSet");
                String dir = w.env().get(variable);
                assertThat(dir).as(where + " is set (the default is under /tmp, an emptyDir)").isNotNull();
                Set<String> claims = new java.util.HashSet<>();
                for (Object t : list(at(w.doc(), "spec", "volumeClaimTemplates").orElse(null))) {
                    claims.add(string(map(t), "metadata", "name"));
                }
                boolean onClaim = list(w.container().get("volumeMounts")).stream().map(Manifests::map)
                        .anyMatch(m -> dir.equals(m.get("mountPath")) && claims.contains(m.get("name")));
                assertThat(onClaim).as(where + "=" + dir + " is the mount path of a volumeClaimTemplate").isTrue();
            }
        });
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void dispatcherRunsAnActiveAndAStandby(String overlay) {
        List<Workload> dispatchers = kilnWorkloads(Manifests.overlay(overlay)).stream()
                .filter(w -> w.role().equals("dispatcher")).toList();
        assertThat(dispatchers).as(overlay + " dispatcher workloads").hasSize(1);
        Workload d = dispatchers.getFirst();
        int replicas = ((Number) at(d.doc(), "spec", "replicas").orElse(1)).intValue();
        int standbys = Integer.parseInt(d.env().getOrDefault(KilnSettings.envName("kiln.dispatcher.standby-replicas"),
                settings.mappingDefault("kiln.dispatcher.standby-replicas").orElseThrow()));
        // One task (kiln.items has one partition): replicas beyond active + standbys do nothing.
        assertThat(replicas).as(overlay + " dispatcher replicas against 1 active + " + standbys + " standby")
                .isLessThanOrEqualTo(1 + standbys);
        if (overlay.equals("production")) {
            assertThat(replicas).as("production fails over to a warm standby").isEqualTo(1 + standbys);
        }
        List<Map<String, Object>> pdbs = ofKind(Manifests.overlay(overlay), "PodDisruptionBudget").stream()
                .filter(p -> d.labels().entrySet().containsAll(
                        map(at(p, "spec", "selector", "matchLabels").orElse(null)).entrySet())).toList();
        assertThat(pdbs).as(overlay + " PodDisruptionBudget of the dispatcher").hasSize(1);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void kedaPrometheusTriggerQueriesAnExportedMetric(String overlay) throws Exception {
        Set<String> exported = AlertsAndDashboardTest.exportedKilnMetrics();
        for (Map<String, Object> so : ofKind(Manifests.overlay(overlay), "ScaledObject")) {
            List<Map<String, Object>> prometheus = list(at(so, "spec", "triggers").orElse(null)).stream()
                    .map(Manifests::map).filter(t -> "prometheus".equals(t.get("type"))).toList();
            assertThat(prometheus).as(overlay + " ScaledObject " + name(so) + " scales on the dispatcher's backlog").hasSize(1);
            String query = string(prometheus.getFirst(), "metadata", "query");
            Matcher m = Pattern.compile("\\bkiln_[a-z0-9_]+\\b").matcher(query);
            assertThat(m.find()).as("query " + query + " names a Kiln metric").isTrue();
            assertThat(m.group()).as("metric of the KEDA query").isEqualTo("kiln_dispatcher_backlog_images").isIn(exported);
        }
    }

    @Test
    void secretExampleHoldsEveryKeyTheWorkloadsRead() {
        Map<String, Object> example = Manifests.yaml(Path.of("k8s", "base", "secret.example.yaml"));
        Set<String> keys = map(example.get("stringData")).keySet();
        Set<String> read = new java.util.TreeSet<>();
        for (Workload w : kilnWorkloads(Manifests.overlay("production"))) {
            for (Object e : list(w.container().get("env"))) {
                at(map(e), "valueFrom", "secretKeyRef", "key").ifPresent(k -> read.add(String.valueOf(k)));
            }
        }
        assertThat(read).as("Secret keys the production workloads read").contains(
                "OPENAI_API_KEY", "KILN_API_KEYS", "KILN_ADMIN_API_KEY", "KILN_SECRETS_KEY");
        assertThat(keys).as("keys of k8s/base/secret.example.yaml").containsAll(read);
        keys.forEach(k -> assertThat(settings.isSetting(k)).as(k + " is a Kiln setting").isTrue());
    }

    @Test
    void authenticationIsRequiredInProductionAndPrivateAddressesOnlyLocally() {
        String allow = KilnSettings.envName("kiln.webhooks.allow-private-addresses");
        for (Workload w : kilnWorkloads(Manifests.overlay("production"))) {
            assertThat(w.env()).as("production " + w.name()).containsEntry("KILN_AUTH", "required")
                    .doesNotContainKey("KILN_ALLOW_PRIVATE_ADDRESSES").doesNotContainKey(allow);
        }
        for (Workload w : kilnWorkloads(Manifests.overlay("local"))) {
            assertThat(w.env()).as("local " + w.name()).containsEntry("KILN_ALLOW_PRIVATE_ADDRESSES", "true");
        }
    }

    @Test
    void prometheusRuleHoldsTheSameRulesAsDeploy() {
        Object deploy = Manifests.yaml(Manifests.ALERTS).get("groups");
        Object k8s = at(Manifests.yaml(Path.of("k8s", "base", "prometheusrule.yaml")), "spec", "groups").orElse(null);
        assertThat(k8s).as("k8s/base/prometheusrule.yaml spec.groups equal deploy/prometheus/kiln-alerts.yml groups")
                .isEqualTo(deploy);
    }

    // ---------------------------------------------------------------- helpers

    private static void assertRealSettings(String where, Set<String> variables) {
        List<String> unknown = variables.stream().filter(v -> !settings.isSetting(v)).sorted().toList();
        if (!unknown.isEmpty()) {
            fail(where + " sets " + unknown + ", which Kiln does not read. Kiln reads: " + settings.knownVariables());
        }
    }

    /** The simulator validates its own SIMULATOR_* settings and refuses unknown ones: let it judge. */
    private static void assertSimulatorAccepts(String where, String mainClass, Map<String, String> env) {
        assertThat(env.keySet()).as(where + " sets only SIMULATOR_* variables").allMatch(k -> k.startsWith("SIMULATOR_"));
        try {
            Class<?> main = Class.forName(mainClass);
            assertThat(main.getMethod("main", String[].class)).isNotNull();
            Class<?> settingsClass = Class.forName(main.getPackageName() + ".SimulatorSettings");
            Object defaults = settingsClass.getMethod("defaults").invoke(null);
            Method withEnv = settingsClass.getMethod("withEnv", Map.class);
            withEnv.invoke(defaults, env);
        } catch (InvocationTargetException e) {
            fail(where + ": the simulator refuses its settings: " + e.getCause().getMessage());
        } catch (ReflectiveOperationException e) {
            fail(where + ": cannot check the simulator settings against " + mainClass + ": " + e);
        }
    }

    private static Optional<String> simulatorMain(List<Object> command) {
        return command.stream().map(String::valueOf).filter(s -> s.endsWith("SimulatorMain")).findFirst();
    }

    private static void assertPinned(String where, String image) {
        assertThat(image).as(where + " image").isNotBlank();
        if (image.contains("@sha256:")) {
            return;
        }
        String lastSegment = image.substring(image.lastIndexOf('/') + 1);
        int colon = lastSegment.indexOf(':');
        assertThat(colon).as(where + ": image " + image + " has a tag").isPositive();
        String tag = lastSegment.substring(colon + 1);
        assertThat(tag).as(where + ": image " + image + " is pinned").isNotEqualTo("latest").matches(".*\\d.*");
        if (lastSegment.substring(0, colon).equals("kiln")) {
            assertThat(tag).as(where + ": the Kiln image carries the version of pom.xml").isEqualTo(pomVersion());
        }
    }

    private static String pomVersion() {
        Matcher m = POM_VERSION.matcher(Manifests.read(Path.of("pom.xml")));
        assertThat(m.find()).as("pom.xml project version").isTrue();
        return m.group(1).trim();
    }

    private static int httpPort() {
        if ("true".equals(settings.effectiveDefault("quarkus.management.enabled").orElse("false"))) {
            fail("quarkus.management.enabled moves health and metrics to the management port: update the probes");
        }
        return Integer.parseInt(settings.effectiveDefault("quarkus.http.port").orElse("8080"));
    }

    /** Quarkus' health path: non-application root (q) / health root (health) / the check's path. */
    private static String healthPath(String key, String quarkusDefault) {
        String root = settings.effectiveDefault("quarkus.http.non-application-root-path").orElse("q");
        String health = settings.effectiveDefault("quarkus.smallrye-health.root-path").orElse("health");
        String path = settings.effectiveDefault("quarkus.smallrye-health." + key).orElse(quarkusDefault);
        return "/" + strip(root) + "/" + strip(health) + "/" + strip(path);
    }

    private static String metricsPath() {
        String root = settings.effectiveDefault("quarkus.http.non-application-root-path").orElse("q");
        String path = settings.effectiveDefault("quarkus.micrometer.export.prometheus.path").orElse("metrics");
        return "/" + strip(root) + "/" + strip(path);
    }

    private static String strip(String s) {
        return s.replaceAll("^/+|/+$", "");
    }

    private static Duration shutdownDeadline(Map<String, String> env) {
        String value = env.get(KilnSettings.envName("kiln.worker.shutdown-deadline"));
        if (value == null) {
            value = settings.effectiveDefault("kiln.worker.shutdown-deadline").orElseThrow();
        }
        return Duration.parse(value);
    }

    private static Duration composeDuration(String value) {
        Matcher m = Pattern.compile("(?:(\\d+)m)?(?:(\\d+)s)?").matcher(value.trim());
        assertThat(m.matches()).as("compose duration " + value).isTrue();
        long minutes = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
        long seconds = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
        return Duration.ofMinutes(minutes).plusSeconds(seconds);
    }

    /** The incoming channel that consumes a topic, from application.properties. */
    private static String incomingChannelOf(String topic) {
        Pattern key = Pattern.compile("mp\\.messaging\\.incoming\\.([^.]+)\\.topic");
        return settings.properties().entrySet().stream()
                .filter(e -> e.getValue().equals(topic))
                .map(e -> key.matcher(e.getKey()))
                .filter(Matcher::matches)
                .map(m -> m.group(1))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no incoming channel of application.properties consumes " + topic));
    }

    /** Topic to partitions, as TopicSetup creates them with the default settings. */
    /** Topics that TopicSetup creates compacted (the latest record per key is the state). */
    private static final java.util.Set<String> COMPACTED_TOPICS = java.util.Set.of(dev.kiln.messaging.Topics.TENANTS,
            dev.kiln.messaging.Topics.PROVIDER_BATCHES);

    private static Map<String, Integer> expectedTopics() {
        int jobs = Integer.parseInt(settings.effectiveDefault("kiln.topics.jobs-partitions").orElseThrow());
        int status = Integer.parseInt(settings.effectiveDefault("kiln.topics.status-partitions").orElseThrow());
        Map<String, Integer> expected = new TreeMap<>();
        expected.put(outgoingTopic("jobs"), jobs);
        expected.put(outgoingTopic("status"), status);
        String channel = incomingChannelOf(outgoingTopic("jobs"));
        expected.put(settings.property("mp.messaging.incoming." + channel + ".dead-letter-queue.topic").orElseThrow(), jobs);
        for (String retry : settings.effectiveDefault("kiln.topics.retry-topics").orElseThrow().split(",")) {
            expected.put(retry.trim(), jobs);
        }
        int dispatch = Integer.parseInt(settings.effectiveDefault("kiln.topics.dispatch-partitions").orElseThrow());
        expected.put(dev.kiln.messaging.Topics.ITEMS, dispatch);
        expected.put(dev.kiln.messaging.Topics.CONTROL, dispatch);
        expected.put(dev.kiln.messaging.Topics.WEBHOOKS, status);
        expected.put(dev.kiln.messaging.Topics.TENANTS,
                Integer.parseInt(settings.effectiveDefault("kiln.topics.tenants-partitions").orElseThrow()));
        expected.put(dev.kiln.messaging.Topics.PROVIDER_BATCHES, 1);
        return expected;
    }

    /** The topic of the one outgoing channel whose name starts with {@code prefix}. */
    private static String outgoingTopic(String prefix) {
        Pattern key = Pattern.compile("mp\\.messaging\\.outgoing\\.(" + prefix + "[^.]*)\\.topic");
        List<String> topics = settings.properties().entrySet().stream()
                .filter(e -> key.matcher(e.getKey()).matches()).map(Map.Entry::getValue).distinct().toList();
        assertThat(topics).as("outgoing topics of channels named " + prefix + "*").hasSize(1);
        return topics.getFirst();
    }

    // ---- compose ----

    /** Services that run Kiln itself (the kiln image, its own command), with their environment. */
    private static Map<String, Map<String, String>> composeKilnServices() {
        Map<String, Object> services = map(Manifests.yaml(Manifests.COMPOSE).get("services"));
        Map<String, Map<String, String>> kiln = new LinkedHashMap<>();
        services.forEach((name, body) -> {
            Map<String, Object> service = map(body);
            if (isKilnImage(string(service, "image")) && !service.containsKey("command")
                    && !service.containsKey("entrypoint")) {
                assertThat(service).as(name + " takes no env_file: its variables must be visible here")
                        .doesNotContainKey("env_file");
                kiln.put(name, environment(service));
            }
        });
        return kiln;
    }

    /** A service's environment as compose resolves it with no .env file: {@code ${VAR:-default}} is the default. */
    private static Map<String, String> environment(Map<String, Object> service) {
        Object env = service.get("environment");
        Map<String, String> result = new TreeMap<>();
        if (env instanceof Map<?, ?> m) {
            m.forEach((k, v) -> result.put(String.valueOf(k), v == null ? null : interpolate(String.valueOf(v))));
        } else {
            for (Object entry : list(env)) {
                String s = String.valueOf(entry);
                int eq = s.indexOf('=');
                result.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? null : interpolate(s.substring(eq + 1)));
            }
        }
        return result;
    }

    private static String interpolate(String value) {
        return COMPOSE_VARIABLE.matcher(value)
                .replaceAll(m -> Matcher.quoteReplacement(m.group(2) == null ? "" : m.group(2)));
    }

    private static boolean isKilnImage(String image) {
        if (image == null) {
            return false;
        }
        String last = image.substring(image.lastIndexOf('/') + 1);
        int colon = last.indexOf(':');
        return (colon < 0 ? last : last.substring(0, colon)).equals("kiln");
    }

    // ---- Kubernetes ----

    /** A Deployment or StatefulSet running Kiln itself, its container and its resolved environment. */
    record Workload(String kind, String name, String role, Map<String, Object> doc, Map<String, Object> container,
                    Map<String, String> env, Map<String, Object> labels) {
    }

    private static List<Map<String, Object>> workloads(List<Map<String, Object>> docs) {
        return docs.stream().filter(d -> Set.of("Deployment", "StatefulSet", "DaemonSet", "Job").contains(kind(d))).toList();
    }

    private static List<Map<String, Object>> containers(Map<String, Object> workload) {
        return list(at(workload, "spec", "template", "spec", "containers").orElse(null)).stream().map(Manifests::map).toList();
    }

    private static List<Workload> kilnWorkloads(List<Map<String, Object>> docs) {
        List<Workload> result = new ArrayList<>();
        for (Map<String, Object> doc : workloads(docs)) {
            for (Map<String, Object> c : containers(doc)) {
                if (isKilnImage(string(c, "image")) && !c.containsKey("command") && !c.containsKey("args")) {
                    Map<String, String> env = containerEnv(docs, c);
                    result.add(new Workload(kind(doc), name(doc), env.getOrDefault("KILN_ROLE", "all"), doc, c, env,
                            map(at(doc, "spec", "template", "metadata", "labels").orElse(null))));
                }
            }
        }
        return result;
    }

    /** env entries plus the keys of every ConfigMap in envFrom; a Secret in envFrom would hide its keys. */
    private static Map<String, String> containerEnv(List<Map<String, Object>> docs, Map<String, Object> container) {
        Map<String, String> env = new HashMap<>();
        for (Object from : list(container.get("envFrom"))) {
            Map<String, Object> source = map(from);
            assertThat(source).as("envFrom of " + container.get("name")
                    + ": take secrets one key at a time (secretKeyRef) so that their names are checked")
                    .doesNotContainKey("secretRef");
            String cm = string(source, "configMapRef", "name");
            Map<String, Object> configMap = ofKind(docs, "ConfigMap").stream().filter(d -> cm.equals(name(d))).findFirst()
                    .orElseThrow(() -> new AssertionError("ConfigMap " + cm + " is not in the overlay"));
            map(configMap.get("data")).forEach((k, v) -> env.put(k, String.valueOf(v)));
        }
        for (Object e : list(container.get("env"))) {
            Map<String, Object> entry = map(e);
            env.put(string(entry, "name"), entry.containsKey("value") ? string(entry, "value") : "<from " + entry.get("valueFrom") + ">");
        }
        return env;
    }

    private static int containerPort(Map<String, Object> container, Object port) {
        if (port instanceof Number n) {
            return n.intValue();
        }
        for (Object p : list(container.get("ports"))) {
            if (String.valueOf(port).equals(map(p).get("name"))) {
                return ((Number) map(p).get("containerPort")).intValue();
            }
        }
        throw new AssertionError("container " + container.get("name") + " has no port named " + port);
    }
}
