package dev.kiln.localstack;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Quiets the embedded broker's own logging to warnings. At INFO a broker start writes more than
 * a thousand lines, which would bury Kiln's log in dev mode and in test output. Only broker-side
 * categories are touched (Kafka's clients log under {@code org.apache.kafka.clients} and
 * {@code org.apache.kafka.common}), and only those with no level of their own, so a
 * {@code quarkus.log.category} setting still wins.
 */
final class BrokerLogging {

    private static final List<String> BROKER_CATEGORIES = List.of(
            "kafka",
            "state.change.logger",
            "org.apache.kafka.controller",
            "org.apache.kafka.coordinator",
            "org.apache.kafka.image",
            "org.apache.kafka.metadata",
            "org.apache.kafka.queue",
            "org.apache.kafka.raft",
            "org.apache.kafka.server",
            "org.apache.kafka.snapshot",
            "org.apache.kafka.storage");

    /** Strong references: java.util.logging may forget a logger's level once nobody holds it. */
    private static final List<Logger> LOGGERS = BROKER_CATEGORIES.stream().map(Logger::getLogger).toList();

    private BrokerLogging() {
    }

    static void quiet() {
        for (Logger logger : LOGGERS) {
            if (logger.getLevel() == null) {
                logger.setLevel(Level.WARNING);
            }
        }
    }
}
