package dev.kiln.deploy;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Kiln's real configuration, read from the code rather than written down: every property of every
 * {@code @ConfigMapping} interface among the compiled main classes (with its {@code @WithDefault}),
 * every key of {@code application.properties}, and every environment variable that
 * {@code application.properties} names in a {@code ${NAME:default}} expression. The manifests'
 * variables are checked against this, so a renamed or removed setting fails the build.
 */
final class KilnSettings {

    private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)(?::[^}]*)?}");

    /** Property name to its {@code @WithDefault} value (null when it has none). */
    private final Map<String, String> mappingDefaults;
    /** Property name prefixes under which any key is valid (map-valued properties). */
    private final Set<String> mappingPrefixes;
    /** {@code application.properties} without profile-specific keys. */
    private final Properties properties;
    /** Environment variables that {@code application.properties} reads by name. */
    private final Set<String> referencedEnv;

    private KilnSettings(Map<String, String> mappingDefaults, Set<String> mappingPrefixes, Properties properties,
                         Set<String> referencedEnv) {
        this.mappingDefaults = mappingDefaults;
        this.mappingPrefixes = mappingPrefixes;
        this.properties = properties;
        this.referencedEnv = referencedEnv;
    }

    /** Kiln's settings from {@code target/classes} and {@code src/main/resources/application.properties}. */
    static KilnSettings load() {
        Path classes = Path.of("target", "classes");
        Path properties = Path.of("src", "main", "resources", "application.properties");
        return of(configMappings(classes), properties);
    }

    /** The settings of these mapping interfaces and this properties file. */
    static KilnSettings of(Collection<Class<?>> mappings, Path propertiesFile) {
        Map<String, String> defaults = new TreeMap<>();
        Set<String> prefixes = new TreeSet<>();
        for (Class<?> mapping : mappings) {
            ConfigMapping annotation = mapping.getAnnotation(ConfigMapping.class);
            walk(mapping, annotation.prefix(), defaults, prefixes);
        }
        Properties all = new Properties();
        try (InputStream in = Files.newInputStream(propertiesFile)) {
            all.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Properties plain = new Properties();
        Set<String> env = new TreeSet<>();
        for (String key : all.stringPropertyNames()) {
            String value = all.getProperty(key);
            if (!key.startsWith("%")) {
                plain.setProperty(key, value);
            }
            Matcher m = ENV_REFERENCE.matcher(value);
            while (m.find()) {
                env.add(m.group(1));
            }
        }
        return new KilnSettings(defaults, prefixes, plain, env);
    }

    /** Every interface annotated {@code @ConfigMapping} under a folder of compiled classes. */
    static List<Class<?>> configMappings(Path classesRoot) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        try (Stream<Path> files = Files.walk(classesRoot)) {
            return files.filter(p -> p.toString().endsWith(".class"))
                    .map(p -> classesRoot.relativize(p).toString())
                    .map(name -> name.substring(0, name.length() - ".class".length()).replace('/', '.').replace('\\', '.'))
                    .map(name -> load(loader, name))
                    .flatMap(Optional::stream)
                    .filter(c -> c.isInterface() && c.isAnnotationPresent(ConfigMapping.class))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<Class<?>> load(ClassLoader loader, String name) {
        try {
            return Optional.of(Class.forName(name, false, loader));
        } catch (ClassNotFoundException | LinkageError e) {
            // Classes of optional dependencies (the local stack's broker) may not link; none is a mapping.
            return Optional.empty();
        }
    }

    private static void walk(Class<?> group, String prefix, Map<String, String> defaults, Set<String> prefixes) {
        for (Method method : group.getMethods()) {
            if (method.isDefault() || Modifier.isStatic(method.getModifiers()) || method.getParameterCount() > 0) {
                continue;
            }
            String name = method.isAnnotationPresent(WithParentName.class) ? prefix
                    : prefix + "." + (method.isAnnotationPresent(WithName.class)
                            ? method.getAnnotation(WithName.class).value() : kebab(method.getName()));
            Type type = method.getGenericReturnType();
            Class<?> raw = rawType(type);
            if (raw == Optional.class) {
                type = typeArgument(type, 0);
                raw = rawType(type);
            }
            if (Map.class.isAssignableFrom(raw)) {
                prefixes.add(name);
            } else if (Collection.class.isAssignableFrom(raw) && isGroup(rawType(typeArgument(type, 0)))) {
                prefixes.add(name);
            } else if (isGroup(raw)) {
                walk(raw, name, defaults, prefixes);
            } else {
                WithDefault value = method.getAnnotation(WithDefault.class);
                defaults.put(name, value == null ? null : value.value());
            }
        }
    }

    private static boolean isGroup(Class<?> type) {
        String pkg = type.getPackageName();
        return type.isInterface() && !pkg.startsWith("java.") && !pkg.startsWith("javax.");
    }

    private static Class<?> rawType(Type type) {
        if (type instanceof Class<?> c) {
            return c;
        }
        if (type instanceof ParameterizedType p) {
            return (Class<?>) p.getRawType();
        }
        return Object.class;
    }

    private static Type typeArgument(Type type, int index) {
        return type instanceof ParameterizedType p ? p.getActualTypeArguments()[index] : Object.class;
    }

    /** SmallRye's default naming: {@code maxInFlight} is {@code max-in-flight}. */
    static String kebab(String methodName) {
        StringBuilder b = new StringBuilder();
        for (char c : methodName.toCharArray()) {
            if (Character.isUpperCase(c)) {
                b.append('-').append(Character.toLowerCase(c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** The environment variable that sets a property: every character but letters and digits becomes {@code _}. */
    static String envName(String property) {
        return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    /** Whether an environment variable sets a Kiln property, by Quarkus' naming rule or by name. */
    boolean isSetting(String env) {
        if (referencedEnv.contains(env)) {
            return true;
        }
        if (mappingDefaults.keySet().stream().anyMatch(p -> envName(p).equals(env))) {
            return true;
        }
        if (mappingPrefixes.stream().anyMatch(p -> env.startsWith(envName(p) + "_"))) {
            return true;
        }
        return properties.stringPropertyNames().stream().anyMatch(p -> envName(p).equals(env));
    }

    /** Every variable name that {@link #isSetting(String)} accepts by exact name, for messages. */
    Set<String> knownVariables() {
        Set<String> names = new TreeSet<>(referencedEnv);
        mappingDefaults.keySet().forEach(p -> names.add(envName(p)));
        properties.stringPropertyNames().forEach(p -> names.add(envName(p)));
        return names;
    }

    /** Whether a {@code @ConfigMapping} declares this property. */
    boolean hasMappingProperty(String property) {
        return mappingDefaults.containsKey(property);
    }

    /** The {@code @WithDefault} of a mapping property. */
    Optional<String> mappingDefault(String property) {
        if (!mappingDefaults.containsKey(property)) {
            throw new AssertionError("no @ConfigMapping declares " + property + "; known: " + mappingDefaults.keySet());
        }
        return Optional.ofNullable(mappingDefaults.get(property));
    }

    /** A key of {@code application.properties} (without profile), as written. */
    Optional<String> property(String key) {
        return Optional.ofNullable(properties.getProperty(key));
    }

    /**
     * What a property resolves to with no environment at all: {@code application.properties}
     * first (its {@code ${ENV:default}} reduced to the default), then the mapping's default.
     */
    Optional<String> effectiveDefault(String key) {
        Optional<String> fromFile = property(key).map(KilnSettings::withoutEnvReferences);
        return fromFile.isPresent() ? fromFile : mappingDefaults.containsKey(key) ? mappingDefault(key) : Optional.empty();
    }

    private static String withoutEnvReferences(String value) {
        return ENV_REFERENCE.matcher(value).replaceAll(m -> {
            String whole = m.group();
            int colon = whole.indexOf(':');
            return Matcher.quoteReplacement(colon < 0 ? "" : whole.substring(colon + 1, whole.length() - 1));
        });
    }

    /** Every property key of {@code application.properties} (no profile) with its value. */
    Map<String, String> properties() {
        Map<String, String> copy = new LinkedHashMap<>();
        properties.stringPropertyNames().stream().sorted().forEach(k -> copy.put(k, properties.getProperty(k)));
        return copy;
    }

    /** The environment variables that application.properties names. */
    Set<String> referencedEnv() {
        return new LinkedHashSet<>(referencedEnv);
    }
}
