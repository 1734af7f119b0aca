package dev.kiln.simulator;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code multipart/form-data} body (RFC 7578) parsed from bytes already in memory: request bodies
 * are bounded by {@link SimulatorSettings#maxBodyBytes()}, so streaming buys nothing here.
 */
final class MultipartForm {

    /**
     * One part of the form.
     *
     * @param name        the form field name, such as {@code image[]}
     * @param filename    the file name, null for a plain field
     * @param contentType the part's media type, null when not given
     * @param body        the part's bytes
     */
    record Part(String name, String filename, String contentType, byte[] body) {

        /** The body as UTF-8 text. */
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** The body is not a well-formed multipart form. */
    static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message);
        }
    }

    private static final Pattern BOUNDARY = Pattern.compile("(?i);\\s*boundary=(\"([^\"]+)\"|([^;\\s]+))");
    private static final Pattern NAME = Pattern.compile("(?i);\\s*name=\"([^\"]*)\"");
    private static final Pattern FILENAME = Pattern.compile("(?i);\\s*filename=\"([^\"]*)\"");
    private static final byte[] CRLF_CRLF = {'\r', '\n', '\r', '\n'};

    private MultipartForm() {
    }

    /** The boundary a {@code Content-Type} header names, if it is multipart/form-data. */
    static Optional<String> boundaryOf(String contentType) {
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return Optional.empty();
        }
        Matcher m = BOUNDARY.matcher(contentType);
        if (!m.find()) {
            return Optional.empty();
        }
        return Optional.of(m.group(2) != null ? m.group(2) : m.group(3));
    }

    static List<Part> parse(byte[] body, String boundary) throws MalformedException {
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        byte[] partEnd = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int pos = indexOf(body, delimiter, 0);
        if (pos < 0) {
            throw new MalformedException("no multipart boundary in the body");
        }
        List<Part> parts = new ArrayList<>();
        pos += delimiter.length;
        while (true) {
            if (startsWith(body, pos, "--")) {
                return parts;
            }
            if (!startsWith(body, pos, "\r\n")) {
                throw new MalformedException("a boundary must be followed by CRLF");
            }
            int headersStart = pos + 2;
            int headersEnd = indexOf(body, CRLF_CRLF, headersStart);
            if (headersEnd < 0) {
                throw new MalformedException("a part's headers do not end");
            }
            int contentStart = headersEnd + 4;
            int contentEnd = indexOf(body, partEnd, contentStart);
            if (contentEnd < 0) {
                throw new MalformedException("the body ends without a closing boundary");
            }
            String headers = new String(body, headersStart, headersEnd - headersStart, StandardCharsets.UTF_8);
            parts.add(part(headers, Arrays.copyOfRange(body, contentStart, contentEnd)));
            pos = contentEnd + partEnd.length;
        }
    }

    private static Part part(String headers, byte[] content) throws MalformedException {
        String disposition = null;
        String contentType = null;
        for (String line : headers.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            if (name.equals("content-disposition")) {
                disposition = value;
            } else if (name.equals("content-type")) {
                contentType = value;
            }
        }
        if (disposition == null) {
            throw new MalformedException("a part has no Content-Disposition");
        }
        Matcher name = NAME.matcher(disposition);
        if (!name.find()) {
            throw new MalformedException("a part has no name");
        }
        Matcher filename = FILENAME.matcher(disposition);
        return new Part(name.group(1), filename.find() ? filename.group(1) : null, contentType, content);
    }

    private static boolean startsWith(byte[] body, int pos, String ascii) {
        if (pos + ascii.length() > body.length) {
            return false;
        }
        for (int i = 0; i < ascii.length(); i++) {
            if (body[pos + i] != ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** First index of {@code pattern} in {@code data} at or after {@code from}, or -1. */
    static int indexOf(byte[] data, byte[] pattern, int from) {
        byte first = pattern[0];
        int last = data.length - pattern.length;
        outer:
        for (int i = from; i <= last; i++) {
            if (data[i] != first) {
                continue;
            }
            for (int j = 1; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
