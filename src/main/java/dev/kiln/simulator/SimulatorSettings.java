package dev.kiln.simulator;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Everything the simulator can be told. Build with {@link #defaults()} and {@link #toBuilder()},
 * or read from the environment ({@link #withEnv(Map)}) and the command line ({@link #withArgs(String...)}).
 * The environment names are listed in {@link #withSetting(String, String)}.
 *
 * @param host              the address to bind, 127.0.0.1 by default
 * @param port              the port to bind, 0 for any free port
 * @param acceptedApiKeys   the bearer keys accepted; empty accepts any non-empty key
 * @param rejectedApiKeys   keys always answered 401 {@code invalid_api_key}; {@code sk-invalid} by default
 * @param forbiddenApiKeys  keys always answered 403, as an organisation not allowed the model is;
 *                          {@code sk-forbidden} by default
 * @param requestsPerMinute the organisation's RPM; 0 is unlimited
 * @param imagesPerMinute   the organisation's IPM; 0 is unlimited
 * @param tokensPerMinute   the organisation's TPM; 0 is unlimited. A request is charged the output tokens
 *                          of its images ({@link dev.kiln.image.ImageTokens#outputPerImage} times {@code n})
 * @param burstSeconds      how many seconds of the limits the buckets hold; 60 (a full minute) by default
 * @param latencyLow        delay of a {@code low} quality render
 * @param latencyMedium     delay of a {@code medium} (and {@code auto}) quality render
 * @param latencyHigh       delay of a {@code high} quality render
 * @param moderationMarker  a prompt containing this word (ignoring case) is refused; blank disables
 * @param faultRates        the chance, 0 to 1, of each fault on a request that passed validation
 * @param hangMillis        how long a {@link Fault#HANG} lasts
 * @param seed              the seed of the random draws (latency jitter, faults)
 * @param maxBodyBytes      the largest request body accepted
 * @param timeScale         multiplies every simulated duration: the latencies with their jitter, the
 *                          hang and the Batch API's completion delay; 1 by default, 0.05 plays a
 *                          4-minute render in 12 s. Rate limits are not scaled: they are the real
 *                          limits a client is measured against, per minute of wall-clock time
 * @param batchCompletionDelayMillis how long a Batch API batch takes from creation to {@code completed}
 *                          (before the time scale), if rendering its lines takes no longer; 0 by default
 * @param minPngBytes       the smallest PNG answered: a smaller placeholder is padded to this size with a
 *                          private ancillary chunk that decoders skip, so a benchmark can move the bytes of
 *                          real renders (a 1536×1024 high-quality PNG is a few MB; the placeholders compress
 *                          to tens of KB) without drawing them; 0 (no padding) by default
 */
public record SimulatorSettings(
        String host,
        int port,
        Set<String> acceptedApiKeys,
        Set<String> rejectedApiKeys,
        Set<String> forbiddenApiKeys,
        int requestsPerMinute,
        int imagesPerMinute,
        int tokensPerMinute,
        double burstSeconds,
        Latency latencyLow,
        Latency latencyMedium,
        Latency latencyHigh,
        String moderationMarker,
        Map<Fault, Double> faultRates,
        long hangMillis,
        long seed,
        long maxBodyBytes,
        double timeScale,
        long batchCompletionDelayMillis,
        long minPngBytes) {

    /** The environment variables' common prefix. */
    public static final String ENV_PREFIX = "SIMULATOR_";

    public SimulatorSettings {
        acceptedApiKeys = Set.copyOf(acceptedApiKeys);
        rejectedApiKeys = Set.copyOf(rejectedApiKeys);
        forbiddenApiKeys = Set.copyOf(forbiddenApiKeys);
        EnumMap<Fault, Double> rates = new EnumMap<>(Fault.class);
        for (Fault fault : Fault.values()) {
            double rate = faultRates.getOrDefault(fault, 0.0);
            if (rate < 0 || rate > 1) {
                throw new IllegalArgumentException(fault.envName() + " must be between 0 and 1");
            }
            rates.put(fault, rate);
        }
        faultRates = Map.copyOf(rates);
        if (requestsPerMinute < 0 || imagesPerMinute < 0 || tokensPerMinute < 0 || burstSeconds <= 0 || hangMillis < 0 || maxBodyBytes <= 0) {
            throw new IllegalArgumentException("limits must not be negative and burst seconds must be positive");
        }
        if (minPngBytes < 0) {
            throw new IllegalArgumentException("the smallest PNG must not be negative");
        }
        if (batchCompletionDelayMillis < 0) {
            throw new IllegalArgumentException("the batch completion delay must not be negative");
        }
        if (!(timeScale > 0) || Double.isInfinite(timeScale)) {
            throw new IllegalArgumentException("the time scale must be a positive number: " + timeScale);
        }
        moderationMarker = moderationMarker == null ? "" : moderationMarker;
    }

    /** No limits, no latency, no faults, any key but {@code sk-invalid} and {@code sk-forbidden}, a free port on 127.0.0.1. */
    public static SimulatorSettings defaults() {
        return new SimulatorSettings("127.0.0.1", 0, Set.of(), Set.of("sk-invalid"), Set.of("sk-forbidden"), 0, 0, 0, 60,
                Latency.NONE, Latency.NONE, Latency.NONE, "FORBIDDEN", Map.of(), 600_000, 42, 200L * 1024 * 1024, 1.0, 0, 0);
    }

    /** The defaults overridden by the process environment. */
    public static SimulatorSettings fromEnv() {
        return defaults().withEnv(System.getenv());
    }

    /** The defaults overridden by the process environment and then by {@code args}. */
    public static SimulatorSettings fromEnvAndArgs(String... args) {
        return fromEnv().withArgs(args);
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The latency of a quality; {@code auto} and unknown qualities count as medium. */
    public Latency latencyFor(String quality) {
        return switch (quality == null ? "medium" : quality) {
            case "low" -> latencyLow;
            case "high" -> latencyHigh;
            default -> latencyMedium;
        };
    }

    /** A simulated duration in wall-clock milliseconds: {@code millis} times {@link #timeScale()}. */
    public long scaledMillis(long millis) {
        return Math.round(millis * timeScale);
    }

    /** These settings with every {@code SIMULATOR_*} variable of {@code env} applied. */
    public SimulatorSettings withEnv(Map<String, String> env) {
        SimulatorSettings result = this;
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith(ENV_PREFIX)) {
                result = result.withSetting(e.getKey(), e.getValue());
            }
        }
        return result;
    }

    /**
     * These settings with command-line options applied: {@code --ipm=60} sets {@code SIMULATOR_IPM},
     * {@code --fault-5xx-rate=0.1} sets {@code SIMULATOR_FAULT_5XX_RATE}, and so on.
     *
     * @throws IllegalArgumentException for an argument not of the form {@code --name=value}
     */
    public SimulatorSettings withArgs(String... args) {
        SimulatorSettings result = this;
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (!arg.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("expected --name=value, got " + arg);
            }
            result = result.withSetting(keyToEnvName(arg.substring(2, eq)), arg.substring(eq + 1));
        }
        return result;
    }

    /** {@code fault-5xx-rate} or {@code fault_5xx_rate} to {@code SIMULATOR_FAULT_5XX_RATE}. */
    static String keyToEnvName(String key) {
        return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /**
     * These settings with one variable applied. The names: {@code SIMULATOR_HOST}, {@code _PORT},
     * {@code _API_KEYS} and {@code _REJECTED_API_KEYS} (comma-separated), {@code _RPM}, {@code _IPM}, {@code _TPM},
     * {@code _BURST_SECONDS}, {@code _LATENCY_LOW_MS}, {@code _LATENCY_LOW_JITTER_MS} (and MEDIUM,
     * HIGH), {@code _MODERATION_MARKER}, {@code _FAULT_5XX_RATE}, {@code _FAULT_HANG_RATE},
     * {@code _FAULT_MALFORMED_JSON_RATE}, {@code _FAULT_TRUNCATED_B64_RATE},
     * {@code _FAULT_429_NO_RETRY_AFTER_RATE}, {@code _FAULT_WRONG_SIZE_RATE}, {@code _HANG_MS},
     * {@code _SEED}, {@code _MAX_BODY_BYTES}, {@code _TIME_SCALE} (a factor on every simulated
     * duration, not on rate limits), {@code _BATCH_COMPLETION_DELAY} (a duration such as {@code 90s},
     * {@code 10m}, {@code 1h}, {@code 250ms} or ISO-8601 {@code PT10M}; a bare number is milliseconds),
     * {@code _MIN_PNG_BYTES} (PNGs padded to at least this size, as real renders are).
     *
     * @throws IllegalArgumentException for an unknown name or a malformed value
     */
    public SimulatorSettings withSetting(String envName, String value) {
        Builder b = toBuilder();
        String v = value.trim();
        try {
            switch (envName) {
                case "SIMULATOR_HOST" -> b.host(v);
                case "SIMULATOR_PORT" -> b.port(Integer.parseInt(v));
                case "SIMULATOR_API_KEYS" -> b.acceptedApiKeys(splitList(v));
                case "SIMULATOR_REJECTED_API_KEYS" -> b.rejectedApiKeys(splitList(v));
                case "SIMULATOR_FORBIDDEN_API_KEYS" -> b.forbiddenApiKeys(splitList(v));
                case "SIMULATOR_RPM" -> b.requestsPerMinute(Integer.parseInt(v));
                case "SIMULATOR_IPM" -> b.imagesPerMinute(Integer.parseInt(v));
                case "SIMULATOR_TPM" -> b.tokensPerMinute(Integer.parseInt(v));
                case "SIMULATOR_BURST_SECONDS" -> b.burstSeconds(Double.parseDouble(v));
                case "SIMULATOR_LATENCY_LOW_MS" -> b.latencyLow(new Latency(Long.parseLong(v), latencyLow.jitterMillis()));
                case "SIMULATOR_LATENCY_LOW_JITTER_MS" -> b.latencyLow(new Latency(latencyLow.meanMillis(), Long.parseLong(v)));
                case "SIMULATOR_LATENCY_MEDIUM_MS" -> b.latencyMedium(new Latency(Long.parseLong(v), latencyMedium.jitterMillis()));
                case "SIMULATOR_LATENCY_MEDIUM_JITTER_MS" -> b.latencyMedium(new Latency(latencyMedium.meanMillis(), Long.parseLong(v)));
                case "SIMULATOR_LATENCY_HIGH_MS" -> b.latencyHigh(new Latency(Long.parseLong(v), latencyHigh.jitterMillis()));
                case "SIMULATOR_LATENCY_HIGH_JITTER_MS" -> b.latencyHigh(new Latency(latencyHigh.meanMillis(), Long.parseLong(v)));
                case "SIMULATOR_MODERATION_MARKER" -> b.moderationMarker(v);
                case "SIMULATOR_HANG_MS" -> b.hangMillis(Long.parseLong(v));
                case "SIMULATOR_SEED" -> b.seed(Long.parseLong(v));
                case "SIMULATOR_MAX_BODY_BYTES" -> b.maxBodyBytes(Long.parseLong(v));
                case "SIMULATOR_TIME_SCALE" -> b.timeScale(Double.parseDouble(v));
                case "SIMULATOR_BATCH_COMPLETION_DELAY" -> b.batchCompletionDelayMillis(durationMillis(v));
                case "SIMULATOR_MIN_PNG_BYTES" -> b.minPngBytes(Long.parseLong(v));
                default -> b.faultRate(faultOfEnvName(envName), Double.parseDouble(v));
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(envName + ": not a number: " + value, e);
        }
        return b.build();
    }

    /** {@code 250ms}, {@code 90s}, {@code 10m}, {@code 1h}, {@code 1.5h}, {@code PT10M}, or bare milliseconds. */
    static long durationMillis(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.startsWith("pt") || v.startsWith("p")) {
            try {
                return java.time.Duration.parse(v.toUpperCase(Locale.ROOT)).toMillis();
            } catch (java.time.format.DateTimeParseException e) {
                throw new NumberFormatException("not a duration: " + value);
            }
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)?").matcher(v);
        if (!m.matches()) {
            throw new NumberFormatException("not a duration: " + value);
        }
        double amount = Double.parseDouble(m.group(1));
        long unitMillis = m.group(2) == null ? 1 : switch (m.group(2)) {
            case "ms" -> 1;
            case "s" -> 1000;
            case "m" -> 60_000;
            default -> 3_600_000;
        };
        return Math.round(amount * unitMillis);
    }

    private static Fault faultOfEnvName(String envName) {
        return Arrays.stream(Fault.values())
                .filter(f -> f.envName().equals(envName))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown simulator setting: " + envName));
    }

    private static Set<String> splitList(String value) {
        return Arrays.stream(value.split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    /** Mutable copy of {@link SimulatorSettings}; {@link #build()} validates. */
    public static final class Builder {
        private String host;
        private int port;
        private Set<String> acceptedApiKeys;
        private Set<String> rejectedApiKeys;
        private Set<String> forbiddenApiKeys;
        private int requestsPerMinute;
        private int imagesPerMinute;
        private int tokensPerMinute;
        private double burstSeconds;
        private Latency latencyLow;
        private Latency latencyMedium;
        private Latency latencyHigh;
        private String moderationMarker;
        private final EnumMap<Fault, Double> faultRates = new EnumMap<>(Fault.class);
        private long hangMillis;
        private long seed;
        private long maxBodyBytes;
        private double timeScale;
        private long batchCompletionDelayMillis;
        private long minPngBytes;

        private Builder(SimulatorSettings s) {
            host = s.host;
            port = s.port;
            acceptedApiKeys = s.acceptedApiKeys;
            rejectedApiKeys = s.rejectedApiKeys;
            forbiddenApiKeys = s.forbiddenApiKeys;
            requestsPerMinute = s.requestsPerMinute;
            imagesPerMinute = s.imagesPerMinute;
            tokensPerMinute = s.tokensPerMinute;
            burstSeconds = s.burstSeconds;
            latencyLow = s.latencyLow;
            latencyMedium = s.latencyMedium;
            latencyHigh = s.latencyHigh;
            moderationMarker = s.moderationMarker;
            faultRates.putAll(s.faultRates);
            hangMillis = s.hangMillis;
            seed = s.seed;
            maxBodyBytes = s.maxBodyBytes;
            timeScale = s.timeScale;
            batchCompletionDelayMillis = s.batchCompletionDelayMillis;
            minPngBytes = s.minPngBytes;
        }

        public Builder host(String v) { host = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder acceptedApiKeys(Set<String> v) { acceptedApiKeys = v; return this; }
        public Builder rejectedApiKeys(Set<String> v) { rejectedApiKeys = v; return this; }
        public Builder forbiddenApiKeys(Set<String> v) { forbiddenApiKeys = v; return this; }
        public Builder requestsPerMinute(int v) { requestsPerMinute = v; return this; }
        public Builder imagesPerMinute(int v) { imagesPerMinute = v; return this; }
        public Builder tokensPerMinute(int v) { tokensPerMinute = v; return this; }
        public Builder burstSeconds(double v) { burstSeconds = v; return this; }
        public Builder latencyLow(Latency v) { latencyLow = v; return this; }
        public Builder latencyMedium(Latency v) { latencyMedium = v; return this; }
        public Builder latencyHigh(Latency v) { latencyHigh = v; return this; }
        public Builder moderationMarker(String v) { moderationMarker = v; return this; }
        public Builder faultRate(Fault fault, double rate) { faultRates.put(fault, rate); return this; }
        public Builder noFaults() { faultRates.clear(); return this; }
        public Builder hangMillis(long v) { hangMillis = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder maxBodyBytes(long v) { maxBodyBytes = v; return this; }
        public Builder timeScale(double v) { timeScale = v; return this; }
        public Builder batchCompletionDelayMillis(long v) { batchCompletionDelayMillis = v; return this; }
        public Builder minPngBytes(long v) { minPngBytes = v; return this; }

        /** The latency of every quality at once. */
        public Builder latency(Latency v) {
            latencyLow = v;
            latencyMedium = v;
            latencyHigh = v;
            return this;
        }

        public SimulatorSettings build() {
            return new SimulatorSettings(host, port, acceptedApiKeys, rejectedApiKeys, forbiddenApiKeys, requestsPerMinute,
                    imagesPerMinute, tokensPerMinute, burstSeconds, latencyLow, latencyMedium, latencyHigh, moderationMarker,
                    faultRates, hangMillis, seed, maxBodyBytes, timeScale,
                    batchCompletionDelayMillis, minPngBytes);
        }
    }
}
