package dev.kiln.tenant;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.kiln.messaging.KilnJson;
import dev.kiln.messaging.Topics;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;

/**
 * The admin API's changes: keys created and revoked, weight and quotas set, webhook secrets
 * rotated. Each change reads the tenant's record, writes the whole new record to
 * {@code kiln.tenants} (acks=all, idempotent) and answers once this replica's own directory
 * shows it; the other replicas follow within a poll. Changes are serialised within a replica;
 * two replicas changing the same tenant in the same instant may lose one change (last write
 * wins), which an admin sees in the answer of a list.
 */
@ApplicationScoped
public class TenantAdmin {

    private static final Set<String> PRODUCER_SETTINGS = ProducerConfig.configNames();

    private final Map<String, Object> kafka;
    private final TenantDirectory directory;
    private final TenantTopicReader reader;
    private final Duration overlap;
    private final Duration visibilityTimeout;
    private final Clock clock;
    private KafkaProducer<String, byte[]> producer;

    @Inject
    public TenantAdmin(@Identifier("default-kafka-broker") Map<String, Object> kafka, TenantDirectory directory,
                       TenantTopicReader reader, AuthConfig config) {
        this(kafka, directory, reader, config.webhookSecretOverlap(), config.changeVisibilityTimeout(), Clock.systemUTC());
    }

    /** An admin of the given settings, for tests and tools without CDI. */
    public TenantAdmin(Map<String, Object> kafka, TenantDirectory directory, TenantTopicReader reader,
                       Duration overlap, Duration visibilityTimeout, Clock clock) {
        this.kafka = kafka;
        this.directory = directory;
        this.reader = reader;
        this.overlap = overlap;
        this.visibilityTimeout = visibilityTimeout;
        this.clock = clock;
    }

    /** Creates a key for {@code tenant} (and the tenant, if new); the answer is the only copy of the key. */
    public CreatedKey createKey(String tenant, String label) {
        requireTenantId(tenant);
        if (label != null && label.length() > 200) {
            throw new InvalidTenantChangeException("label", "must have at most 200 characters");
        }
        String key = ApiKeys.generate();
        KeyHash hash = KeyHash.of(key);
        Instant now = clock.instant();
        change(tenant, record -> {
            List<TenantRecord.StoredKey> keys = new ArrayList<>(record.keys());
            keys.add(new TenantRecord.StoredKey(hash.id(), hash.hex(), label, now));
            return record.withKeys(keys, record.revokedKeys(), now);
        });
        return new CreatedKey(hash.id(), tenant, key, label, now);
    }

    /** Revokes the key {@code keyId} of {@code tenant}, whether configured or created here. */
    public void revokeKey(String tenant, String keyId) {
        requireTenantId(tenant);
        boolean known = directory.keys(tenant).stream().anyMatch(k -> k.id().equals(keyId));
        if (!known) {
            throw new TenantNotFoundException("tenant " + tenant + " has no key " + keyId);
        }
        Instant now = clock.instant();
        change(tenant, record -> {
            List<TenantRecord.StoredKey> keys = record.keys().stream().filter(k -> !k.id().equals(keyId)).toList();
            List<String> revoked = new ArrayList<>(record.revokedKeys());
            directory.configuredKeys(tenant).stream()
                    .filter(k -> k.hash().id().equals(keyId) && !revoked.contains(k.hash().hex()))
                    .forEach(k -> revoked.add(k.hash().hex()));
            return record.withKeys(keys, revoked, now);
        });
    }

    /** Sets the tenant's weight and quotas (null fields unchanged); the tenant is created if new. */
    public Tenant configure(String tenant, TenantSettings settings) {
        requireTenantId(tenant);
        if (settings.weight() != null && (settings.weight() < 1 || settings.weight() > 1000)) {
            throw new InvalidTenantChangeException("weight", "must be between 1 and 1000");
        }
        TenantRecord.QuotaOverrides changes = new TenantRecord.QuotaOverrides(settings.maxItemsPerBatch(),
                settings.maxPendingImages(), settings.ipmShareCap(), settings.monthlyBudgetUsd());
        Tenant current = directory.tenant(tenant);
        try {
            current.quotas().with(changes);
        } catch (IllegalArgumentException e) {
            String field = e.getMessage().substring(0, e.getMessage().indexOf(' '));
            throw new InvalidTenantChangeException(field, e.getMessage().substring(field.length() + 1));
        }
        Instant now = clock.instant();
        change(tenant, record -> record.withWeight(
                settings.weight() != null ? settings.weight() : record.weight(),
                record.quotas() == null ? changes : record.quotas().merge(changes), now));
        return directory.tenant(tenant);
    }

    /**
     * A new webhook secret for {@code tenant}; the one it replaces keeps signing for the overlap
     * (a day by default), so receivers can switch without missing a delivery.
     */
    public Tenant rotateWebhookSecret(String tenant) {
        requireTenantId(tenant);
        Instant now = clock.instant();
        change(tenant, record -> {
            List<WebhookSecret> previous = directory.webhookSecrets(tenant, record);
            List<TenantRecord.SealedSecret> sealed = new ArrayList<>();
            sealed.add(seal(tenant, WebhookSecret.generate()));
            for (WebhookSecret old : previous) {
                WebhookSecret ending = old.expiresAt() == null ? old.expiringAt(now.plus(overlap)) : old;
                if (ending.validAt(now)) {
                    sealed.add(seal(tenant, ending));
                }
            }
            return record.withWebhookSecrets(sealed, now);
        });
        return directory.tenant(tenant);
    }

    private TenantRecord.SealedSecret seal(String tenant, WebhookSecret secret) {
        return new TenantRecord.SealedSecret(directory.secrets().seal(tenant, secret.value()), secret.expiresAt());
    }

    private synchronized void change(String tenant, UnaryOperator<TenantRecord> update) {
        TenantRecord current = directory.record(tenant).orElseGet(() -> TenantRecord.empty(tenant));
        TenantRecord next = update.apply(current);
        byte[] value;
        try {
            value = KilnJson.MAPPER.writeValueAsBytes(next);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tenant record is plain JSON", e);
        }
        try {
            RecordMetadata written = producer().send(new ProducerRecord<>(Topics.TENANTS, null, tenant, value, dev.kiln.messaging.TraceHeaders.inject(new org.apache.kafka.common.header.internals.RecordHeaders())))
                    .get(visibilityTimeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!reader.awaitApplied(written.partition(), written.offset(), visibilityTimeout)) {
                throw new TenantStoreUnavailableException("the change was written but this replica did not read it back within "
                        + visibilityTimeout, null);
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new TenantStoreUnavailableException("Kafka did not confirm the change to " + Topics.TENANTS, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TenantStoreUnavailableException("interrupted while writing to " + Topics.TENANTS, e);
        }
    }

    private KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            Map<String, Object> settings = new HashMap<>();
            kafka.forEach((name, value) -> {
                if (PRODUCER_SETTINGS.contains(name)) {
                    settings.put(name, value);
                }
            });
            settings.put(ProducerConfig.CLIENT_ID_CONFIG, "kiln-tenants-admin");
            settings.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            settings.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
            settings.put(ProducerConfig.ACKS_CONFIG, "all");
            settings.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            producer = new KafkaProducer<>(settings);
        }
        return producer;
    }

    synchronized void close(@Observes ShutdownEvent event) {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
            producer = null;
        }
    }

    private static void requireTenantId(String tenant) {
        if (tenant == null || !ApiKeys.TENANT_ID.matcher(tenant).matches()) {
            throw new InvalidTenantChangeException("tenant",
                    "a tenant id has 1 to 63 lower-case letters, digits, - or _ and starts with a letter or digit");
        }
    }
}
