package dev.kiln.status;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.job.JobState;
import dev.kiln.messaging.KilnJson;
import dev.kiln.storage.ObjectStore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * One job as the status view stores it: the job's answer to {@code GET /v1/jobs/{id}} (the
 * {@link JobStatus} JSON) with every presigned URL left empty, behind a short header that says
 * where each URL goes and which key it signs, and the job's index and state. A page of items is
 * then written by copying these bytes and splicing the URLs in: decoding 100 stored views and
 * encoding 100 {@link JobStatus} records was most of a page's CPU and allocation.
 *
 * <p>The JSON part still reads as a {@link JobView} (the {@code url} and {@code thumbnail}
 * fields are unknown to it, and ignored), which the view's writer and the other readers use.
 * Values stored before this form, plain {@link JobView} JSON, are still read, the slow way:
 * the view on disk is not rebuilt on upgrade.
 *
 * <p>Layout: the byte {@link #FORM}, the state's ordinal (a byte), the index (an int), the number
 * of URLs (a short), for each URL its place in the JSON (an int, between the quotes of
 * {@code "url":""}) and the object key to sign (a short length and UTF-8 bytes); then the JSON.
 */
final class StoredJob {

    /** First byte of this form; JSON starts with '{'. */
    static final byte FORM = 1;

    private static final ObjectMapper JSON = KilnJson.MAPPER;
    private static final JobState[] STATES = JobState.values();
    private static final byte[] URL_SLOT = "\"url\":\"\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OUTPUTS = "\"outputs\":[".getBytes(StandardCharsets.US_ASCII);

    private StoredJob() {
    }

    /** The stored form of {@code job}. */
    static byte[] encode(JobView job) {
        JobStatus template = JobStatus.of(job, key -> "");
        List<String> keys = new ArrayList<>();
        for (JobStatus.Output output : template.outputs()) {
            keys.add(output.key());
            keys.add(output.thumbnail().key());
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(template);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // The URL places are the first "url":"" after "outputs":[. None can come earlier: the
        // fields before the outputs are strings, numbers and the error, and a quote inside a string
        // is escaped, so the bytes "url":"" occur only as a field; the metadata comes after them.
        int[] places = new int[keys.size()];
        int from = indexOf(json, OUTPUTS, 0);
        for (int i = 0; i < places.length; i++) {
            int at = indexOf(json, URL_SLOT, from);
            if (at < 0) {
                throw new IllegalStateException("no place for URL " + i + " of job " + job.id());
            }
            places[i] = at + URL_SLOT.length - 1;
            from = at + URL_SLOT.length;
        }
        List<byte[]> keyBytes = keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        int header = 1 + 1 + 4 + 2 + keyBytes.stream().mapToInt(k -> 4 + 2 + k.length).sum();
        ByteBuffer out = ByteBuffer.allocate(header + json.length);
        out.put(FORM).put((byte) job.state().ordinal()).putInt(job.index()).putShort((short) places.length);
        for (int i = 0; i < places.length; i++) {
            out.putInt(places[i]).putShort((short) keyBytes.get(i).length).put(keyBytes.get(i));
        }
        return out.put(json).array();
    }

    /** The job view in {@code stored}, of either form. */
    static JobView decode(byte[] stored) {
        try {
            if (stored[0] != FORM) {
                return JSON.readValue(stored, JobView.class);
            }
            int json = jsonStart(stored);
            return JSON.readValue(stored, json, stored.length - json, JobView.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The job's state, without decoding the JSON of this form. */
    static JobState state(byte[] stored) {
        return stored[0] == FORM ? STATES[stored[1]] : decode(stored).state();
    }

    /** The job's index in its batch, without decoding the JSON of this form. */
    static int index(byte[] stored) {
        return stored[0] == FORM ? intAt(stored, 2) : decode(stored).index();
    }

    /**
     * Appends the job's response JSON to {@code out}, each output and thumbnail with the URL
     * {@code urls} gives for its key (a presigned one, {@link ObjectStore#presignedGet}): the
     * same bytes as Jackson writes for {@link JobStatus#of(JobView, Function)}. The keys are
     * handed over as the stored UTF-8 bytes, so that no string is made for them.
     */
    static void writeResponse(byte[] stored, ObjectUrls urls, ByteArrayOutputStream out) {
        if (stored[0] != FORM) {
            try {
                out.write(JSON.writeValueAsBytes(JobStatus.of(decode(stored), urls::url)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return;
        }
        int count = shortAt(stored, 6);
        // The header is read twice, in place: first to find where the JSON starts, then to copy
        // it with the URLs spliced in.
        int json = jsonStart(stored);
        int copied = json;
        int at = 8;
        for (int i = 0; i < count; i++) {
            int place = json + intAt(stored, at);
            int keyLength = shortAt(stored, at + 4);
            out.write(stored, copied, place - copied);
            urls.writeJson(stored, at + 6, keyLength, out);
            copied = place;
            at += 6 + keyLength;
        }
        out.write(stored, copied, stored.length - copied);
    }

    /**
     * {@code value} as the inside of a JSON string, in UTF-8. A presigned URL is ASCII without a
     * quote, backslash or control character, so it is copied as it is; anything else is escaped
     * the way Jackson escapes it.
     */
    static void writeJsonString(String value, ByteArrayOutputStream out) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
                byte[] quoted = JsonStringEncoder.getInstance().quoteAsUTF8(value);
                out.write(quoted, 0, quoted.length);
                return;
            }
        }
        byte[] ascii = value.getBytes(StandardCharsets.ISO_8859_1);
        out.write(ascii, 0, ascii.length);
    }

    /** Whether the job in {@code stored} is {@code jobId}: its JSON starts with that id. */
    static boolean hasId(byte[] stored, String jobId) {
        if (stored[0] != FORM) {
            return decode(stored).id().equals(jobId);
        }
        byte[] prefix = ("{\"id\":\"" + new String(JsonStringEncoder.getInstance().quoteAsString(jobId)) + "\"")
                .getBytes(StandardCharsets.UTF_8);
        int json = jsonStart(stored);
        return stored.length - json >= prefix.length
                && Arrays.equals(stored, json, json + prefix.length, prefix, 0, prefix.length);
    }

    private static int jsonStart(byte[] stored) {
        int count = shortAt(stored, 6);
        int at = 8;
        for (int i = 0; i < count; i++) {
            at += 6 + shortAt(stored, at + 4);
        }
        return at;
    }

    /** The big-endian int at {@code at}, as {@link ByteBuffer#putInt} wrote it. */
    private static int intAt(byte[] bytes, int at) {
        return (bytes[at] & 0xff) << 24 | (bytes[at + 1] & 0xff) << 16 | (bytes[at + 2] & 0xff) << 8 | bytes[at + 3] & 0xff;
    }

    /** The big-endian short at {@code at}, as {@link ByteBuffer#putShort} wrote it; key lengths and counts are below 32,768. */
    private static int shortAt(byte[] bytes, int at) {
        return (short) ((bytes[at] & 0xff) << 8 | bytes[at + 1] & 0xff);
    }

    private static int indexOf(byte[] bytes, byte[] part, int from) {
        outer:
        for (int i = Math.max(0, from); i <= bytes.length - part.length; i++) {
            for (int j = 0; j < part.length; j++) {
                if (bytes[i + j] != part[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
