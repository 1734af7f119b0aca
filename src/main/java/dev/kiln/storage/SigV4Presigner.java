package dev.kiln.storage;

import dev.kiln.job.Sha256;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Presigns S3 GET URLs with AWS Signature V4 in the query string, the URLs the MinIO SDK makes,
 * at a small fraction of its cost: a page of 100 items presigns 200 URLs, and the SDK derives the
 * signing key (four HMACs), formats dates and builds two OkHttp URLs for every one of them.
 *
 * <p>Here the signing key is derived once per UTC day, the date strings and the fixed parts of the
 * canonical request once per second, and each thread keeps its own {@link MessageDigest} and
 * {@link Mac} (neither is thread-safe; a Mac is re-keyed only when the day changes). A URL then
 * costs one SHA-256 of the canonical request and one HMAC, computed into the thread's own buffers;
 * {@link #writePresignedGet} copies it into an answer without making a string of the key or the URL.
 *
 * <p>Where the URL points (scheme, host, port, path-style or virtual-host style, region) is not
 * worked out here but taken from one URL the SDK presigns at start-up ({@link #from}), so it
 * follows the SDK's rules for the configured endpoint exactly. Keys the SDK would rewrite (empty,
 * {@code .} or {@code ..} segments, which it drops or resolves; lone surrogates) are declined
 * with {@code null}, and the caller presigns them with the SDK.
 *
 * <p>The secret key is kept only as the seed of the signing key and never appears in a message.
 */
final class SigV4Presigner {

    /** The object key the SDK presigns at start-up to show where URLs point; unreserved characters only. */
    static final String PROBE_KEY = "kiln-presign-probe";

    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.US)
            .withZone(ZoneOffset.UTC);
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final char[] UPPER_HEX = "0123456789ABCDEF".toCharArray();

    /** Everything of a URL before the encoded key, as UTF-8. */
    private final byte[] urlPrefixBytes;
    /** Whether {@link #urlPrefixBytes} is printable ASCII without a quote or a backslash (as every URL the SDK makes is). */
    private final boolean jsonSafePrefix;
    private final byte[] canonicalPrefix;
    private final String hostHeader;
    private final String region;
    private final String accessKey;
    private final byte[] secretSeed;
    private final int expirySeconds;
    private final Clock clock;
    private volatile Second second;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * @param urlPrefix     everything of a presigned URL before the encoded key ({@code http://host:9000/kiln/})
     * @param canonicalPath the path part of that prefix ({@code /kiln/})
     * @param hostHeader    the {@code Host} header the URL is signed for ({@code host:9000}, no default port)
     */
    SigV4Presigner(String urlPrefix, String canonicalPath, String hostHeader, String region, String accessKey,
                   String secretKey, int expirySeconds, Clock clock) {
        this.urlPrefixBytes = urlPrefix.getBytes(StandardCharsets.UTF_8);
        this.jsonSafePrefix = isJsonSafe(urlPrefixBytes);
        this.canonicalPrefix = ("GET\n" + canonicalPath).getBytes(StandardCharsets.US_ASCII);
        this.hostHeader = hostHeader;
        this.region = region;
        this.accessKey = accessKey;
        this.secretSeed = ("AWS4" + secretKey).getBytes(StandardCharsets.UTF_8);
        this.expirySeconds = expirySeconds;
        this.clock = clock;
    }

    /**
     * A presigner for the URLs of which {@code probeUrl} is one: the SDK's presigned GET URL of
     * {@link #PROBE_KEY}. Empty when the URL is not of the expected shape (a session token, a
     * query parameter it does not know), so that the caller keeps presigning with the SDK.
     */
    static java.util.Optional<SigV4Presigner> from(String probeUrl, String accessKey, String secretKey,
                                                   int expirySeconds, Clock clock) {
        if (probeUrl == null) {
            return java.util.Optional.empty();
        }
        int keyAt = probeUrl.indexOf("/" + PROBE_KEY + "?");
        if (keyAt < 0) {
            return java.util.Optional.empty();
        }
        URI uri = URI.create(probeUrl);
        String path = uri.getRawPath();
        String query = uri.getRawQuery();
        String[] params = query.split("&");
        if (params.length != 6 || !query.startsWith("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")
                || !params[4].equals("X-Amz-SignedHeaders=host") || !params[3].equals("X-Amz-Expires=" + expirySeconds)) {
            return java.util.Optional.empty();
        }
        String credential = URLDecoder.decode(params[1].substring("X-Amz-Credential=".length()), StandardCharsets.UTF_8);
        String suffix = "/s3/aws4_request";
        if (!credential.startsWith(accessKey + "/") || !credential.endsWith(suffix)) {
            return java.util.Optional.empty();
        }
        String dateAndRegion = credential.substring(accessKey.length() + 1, credential.length() - suffix.length());
        String region = dateAndRegion.substring(dateAndRegion.indexOf('/') + 1);
        return java.util.Optional.of(new SigV4Presigner(probeUrl.substring(0, keyAt + 1),
                path.substring(0, path.length() - PROBE_KEY.length()), uri.getRawAuthority(), region, accessKey,
                secretKey, expirySeconds, clock));
    }

    /** The presigned GET URL of {@code key}, or {@code null} for a key the SDK would rewrite (see the class). */
    String presignGet(String key) {
        Scratch s = SCRATCH.get();
        int keyLength = s.encodeKey(key);
        if (keyLength < 0) {
            return null;
        }
        int length = signInto(s, keyLength);
        return new String(s.url, 0, length, StandardCharsets.UTF_8);
    }

    /**
     * Appends the presigned GET URL of the object key held as UTF-8 in
     * {@code key[offset, offset + length)} to {@code out} and returns true; returns false, writing
     * nothing, for a key the SDK would rewrite, or when this endpoint's URLs are not plain ASCII.
     * What it writes is printable ASCII without a quote or a backslash, so it can go between the
     * quotes of a JSON string as it is. No string is built: a page of items signs 200 URLs
     * straight into its answer.
     */
    boolean writePresignedGet(byte[] key, int offset, int length, ByteArrayOutputStream out) {
        if (!jsonSafePrefix) {
            return false;
        }
        Scratch s = SCRATCH.get();
        int keyLength = s.encodeKey(key, offset, length);
        if (keyLength < 0) {
            return false;
        }
        int urlLength = signInto(s, keyLength);
        out.write(s.url, 0, urlLength);
        return true;
    }

    /**
     * Signs the encoded key in {@code s.key} and writes the whole URL into {@code s.url}; returns
     * its length. One SHA-256 and one HMAC, into the thread's own buffers: nothing is allocated.
     */
    private int signInto(Scratch s, int keyLength) {
        Second now = current();
        MessageDigest sha = s.sha;
        sha.update(canonicalPrefix);
        sha.update(s.key, 0, keyLength);
        sha.update(now.canonicalTail);
        Mac mac = s.macFor(now.signingKey);
        mac.update(now.stringToSignHead);
        try {
            sha.digest(s.digest, 0, s.digest.length);
            mac.update(hex(s.digest, s.hex));
            mac.doFinal(s.digest, 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 or HmacSHA256 refused a 32-byte buffer", e);
        }
        byte[] signatureHex = hex(s.digest, s.hex);
        int at = s.ensureUrl(urlPrefixBytes.length + keyLength + now.queryAndSignatureName.length + signatureHex.length);
        System.arraycopy(urlPrefixBytes, 0, s.url, at, urlPrefixBytes.length);
        at += urlPrefixBytes.length;
        System.arraycopy(s.key, 0, s.url, at, keyLength);
        at += keyLength;
        System.arraycopy(now.queryAndSignatureName, 0, s.url, at, now.queryAndSignatureName.length);
        at += now.queryAndSignatureName.length;
        System.arraycopy(signatureHex, 0, s.url, at, signatureHex.length);
        return at + signatureHex.length;
    }

    /** The per-second strings, remade when the clock has moved on; the signing key only when the day has. */
    private Second current() {
        long epochSecond = Math.floorDiv(clock.millis(), 1000L);
        Second cached = second;
        if (cached != null && cached.epochSecond == epochSecond) {
            return cached;
        }
        Second next = new Second(epochSecond, cached);
        second = next;
        return next;
    }

    private static byte[] hex(byte[] bytes, byte[] into) {
        for (int i = 0; i < bytes.length; i++) {
            into[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
            into[2 * i + 1] = HEX[bytes[i] & 0xf];
        }
        return into;
    }

    private static boolean isJsonSafe(byte[] ascii) {
        for (byte b : ascii) {
            if (b < 0x20 || b > 0x7e || b == '"' || b == '\\') {
                return false;
            }
        }
        return true;
    }

    /** S3's URI encoding of one value: every byte but A-Z a-z 0-9 - . _ ~ as %XX. */
    private static String encodeComponent(String value) {
        StringBuilder out = new StringBuilder(value.length() + 16);
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (isUnreserved(c)) {
                out.append(c);
            } else {
                out.append('%').append(UPPER_HEX[(b >> 4) & 0xf]).append(UPPER_HEX[b & 0xf]);
            }
        }
        return out.toString();
    }

    private static boolean isUnreserved(int c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    /** What stays the same for one second of signing, and the day's signing key. */
    private final class Second {
        final long epochSecond;
        final String dateStamp;
        final byte[] signingKey;
        /** The URL's query before the signature's value, from the {@code ?} to {@code X-Amz-Signature=}. */
        final byte[] queryAndSignatureName;
        /** The canonical request after the key's path: query string, the host header, the payload marker. */
        final byte[] canonicalTail;
        /** The string to sign before the canonical request's hash. */
        final byte[] stringToSignHead;

        Second(long epochSecond, Second previous) {
            this.epochSecond = epochSecond;
            String amzDate = AMZ_DATE.format(java.time.Instant.ofEpochSecond(epochSecond));
            this.dateStamp = amzDate.substring(0, 8);
            this.signingKey = previous != null && previous.dateStamp.equals(dateStamp) ? previous.signingKey
                    : signingKey(dateStamp);
            String scope = dateStamp + "/" + region + "/s3/aws4_request";
            // Also the canonical query string: its parameters are in order.
            String query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + encodeComponent(accessKey + "/" + scope)
                    + "&X-Amz-Date=" + amzDate + "&X-Amz-Expires=" + expirySeconds + "&X-Amz-SignedHeaders=host";
            this.queryAndSignatureName = ("?" + query + "&X-Amz-Signature=").getBytes(StandardCharsets.US_ASCII);
            this.canonicalTail = ("\n" + query + "\nhost:" + hostHeader + "\n\nhost\nUNSIGNED-PAYLOAD")
                    .getBytes(StandardCharsets.UTF_8);
            this.stringToSignHead = ("AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n").getBytes(StandardCharsets.UTF_8);
        }

        private byte[] signingKey(String date) {
            try {
                return hmac(hmac(hmac(hmac(secretSeed, date), region), "s3"), "aws4_request");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is not available", e);
            }
        }
    }

    /** One thread's digest, MAC and buffers. */
    private static final class Scratch {
        final MessageDigest sha;
        final Mac mac;
        byte[] macKey;
        byte[] key = new byte[256];
        /** The URL being written; a URL with a key of 60 bytes is some 400. */
        byte[] url = new byte[1024];
        /** The canonical request's hash, then the signature. */
        final byte[] digest = new byte[32];
        final byte[] hex = new byte[64];

        Scratch() {
            try {
                sha = Sha256.digest();
                mac = Mac.getInstance("HmacSHA256");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("SHA-256 is not available", e);
            }
        }

        Mac macFor(byte[] signingKey) {
            if (macKey != signingKey) {
                try {
                    mac.init(new SecretKeySpec(signingKey, "HmacSHA256"));
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException("cannot key HmacSHA256", e);
                }
                macKey = signingKey;
            }
            return mac;
        }

        /**
         * Writes the S3 path encoding of {@code objectKey} into {@link #key}, slashes kept, and
         * returns its length; -1 for a key the SDK would rewrite.
         */
        int encodeKey(String objectKey) {
            int length = 0;
            int segmentStart = 0;
            int n = objectKey.length();
            if (n == 0) {
                return -1;
            }
            for (int i = 0; i < n; i++) {
                char c = objectKey.charAt(i);
                if (c == '/') {
                    if (isRewrittenSegment(length, segmentStart)) {
                        return -1;
                    }
                    length = put(length, (byte) '/');
                    segmentStart = length;
                } else if (c < 0x80) {
                    if (isUnreserved(c)) {
                        length = put(length, (byte) c);
                    } else {
                        length = percent(length, c);
                    }
                } else if (c < 0x800) {
                    length = percent(length, 0xc0 | c >> 6);
                    length = percent(length, 0x80 | c & 0x3f);
                } else if (Character.isSurrogate(c)) {
                    if (!Character.isHighSurrogate(c) || i + 1 == n || !Character.isLowSurrogate(objectKey.charAt(i + 1))) {
                        return -1;
                    }
                    int cp = Character.toCodePoint(c, objectKey.charAt(++i));
                    length = percent(length, 0xf0 | cp >> 18);
                    length = percent(length, 0x80 | cp >> 12 & 0x3f);
                    length = percent(length, 0x80 | cp >> 6 & 0x3f);
                    length = percent(length, 0x80 | cp & 0x3f);
                } else {
                    length = percent(length, 0xe0 | c >> 12);
                    length = percent(length, 0x80 | c >> 6 & 0x3f);
                    length = percent(length, 0x80 | c & 0x3f);
                }
            }
            return isRewrittenSegment(length, segmentStart) ? -1 : length;
        }

        /** Makes {@link #url} hold at least {@code length} bytes; returns where to write (0). */
        int ensureUrl(int length) {
            if (url.length < length) {
                url = new byte[Math.max(length, url.length * 2)];
            }
            return 0;
        }

        /**
         * {@link #encodeKey(String)} of a key given as UTF-8 bytes, which are what S3 percent-encodes:
         * the same result, without decoding them to a string first.
         */
        int encodeKey(byte[] objectKey, int offset, int n) {
            if (n == 0) {
                return -1;
            }
            int length = 0;
            int segmentStart = 0;
            for (int i = offset; i < offset + n; i++) {
                int c = objectKey[i] & 0xff;
                if (c == '/') {
                    if (isRewrittenSegment(length, segmentStart)) {
                        return -1;
                    }
                    length = put(length, (byte) '/');
                    segmentStart = length;
                } else if (isUnreserved(c)) {
                    length = put(length, (byte) c);
                } else {
                    length = percent(length, c);
                }
            }
            return isRewrittenSegment(length, segmentStart) ? -1 : length;
        }

        /** An empty segment (the SDK drops it) or {@code .} or {@code ..} (OkHttp resolves them). */
        private boolean isRewrittenSegment(int end, int start) {
            int size = end - start;
            return size == 0 || size == 1 && key[start] == '.' || size == 2 && key[start] == '.' && key[start + 1] == '.';
        }

        private int percent(int at, int b) {
            at = put(at, (byte) '%');
            at = put(at, (byte) UPPER_HEX[(b >> 4) & 0xf]);
            return put(at, (byte) UPPER_HEX[b & 0xf]);
        }

        private int put(int at, byte b) {
            if (at == key.length) {
                key = java.util.Arrays.copyOf(key, key.length * 2);
            }
            key[at] = b;
            return at + 1;
        }
    }
}
