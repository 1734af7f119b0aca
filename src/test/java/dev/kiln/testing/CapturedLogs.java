package dev.kiln.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Every log record of this JVM from {@link #start()} to {@link #close()}, formatted with its
 * parameters and stack trace, at every level, for {@link SecretScanner}. Attached to the root
 * logger, so it sees Kiln, Quarkus, Kafka and Vert.x alike.
 */
public final class CapturedLogs extends Handler implements AutoCloseable {

    private final List<String> lines = new ArrayList<>();

    private CapturedLogs() {
        setLevel(java.util.logging.Level.ALL);
    }

    /** Starts capturing. */
    public static CapturedLogs start() {
        CapturedLogs logs = new CapturedLogs();
        Logger.getLogger("").addHandler(logs);
        return logs;
    }

    @Override
    public synchronized void publish(LogRecord record) {
        StringBuilder line = new StringBuilder().append(record.getLevel()).append(' ')
                .append(record.getLoggerName()).append(": ").append(message(record));
        if (record.getThrown() != null) {
            StringWriter trace = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(trace));
            line.append('\n').append(trace);
        }
        lines.add(line.toString());
    }

    private static String message(LogRecord record) {
        String message = String.valueOf(record.getMessage());
        Object[] parameters = record.getParameters();
        if (parameters == null || parameters.length == 0) {
            return message;
        }
        // JBoss records format with either {0} or %s; keep the raw parameters too, whatever the style.
        StringBuilder out = new StringBuilder(message);
        for (Object parameter : parameters) {
            out.append(" | ").append(parameter);
        }
        return out.toString();
    }

    /** The lines captured so far. */
    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        Logger.getLogger("").removeHandler(this);
    }
}
