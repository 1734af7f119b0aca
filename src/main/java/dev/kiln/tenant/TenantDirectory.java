package dev.kiln.tenant;

import dev.kiln.config.KilnConfig;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tenants and key hashes this replica knows: the configuration ({@code KILN_API_KEYS}) with
 * every change of the admin API laid over it, as read from {@code kiln.tenants} by
 * {@link TenantTopicReader}. Lookups read one immutable snapshot, rebuilt after each change.
 */
@ApplicationScoped
public class TenantDirectory {

    private final AuthMode mode;
    private final ApiKeys configured;
    private final Optional<KeyHash> adminKey;
    private final TenantQuotas defaultQuotas;
    private final int defaultWeight;
    private final SecretBox secrets;
    private final String defaultTenant;

    private final Map<String, TenantRecord> records = new ConcurrentHashMap<>();
    private final Set<String> unopenedSecretsLogged = ConcurrentHashMap.newKeySet();
    private volatile Snapshot snapshot;

    @Inject
    public TenantDirectory(AuthConfig config, KilnConfig kiln) {
        this(config.parsedMode(), ApiKeys.parse(config.apiKeys()), config.adminApiKey(),
                TenantQuotas.defaults(config.quotas()), config.quotas().weight(),
                SecretBox.of(config.secretsKey(), config.adminApiKey()), kiln.defaultTenant());
    }

    /** A directory of the given configuration, for tests and tools without CDI. */
    public TenantDirectory(AuthMode mode, ApiKeys configured, Optional<String> adminKey, TenantQuotas defaultQuotas,
                           int defaultWeight, SecretBox secrets, String defaultTenant) {
        this.mode = mode;
        this.configured = configured;
        this.adminKey = adminKey.filter(k -> !k.isBlank()).map(KeyHash::of);
        this.defaultQuotas = defaultQuotas;
        this.defaultWeight = defaultWeight;
        this.secrets = secrets;
        this.defaultTenant = defaultTenant;
        this.snapshot = build();
    }

    /** The tenant of a presented key, if it is a valid one. Every known hash is compared, in constant time. */
    public Optional<Caller> authenticate(String presentedKey) {
        KeyHash presented = KeyHash.of(presentedKey);
        Entry match = null;
        for (Entry entry : snapshot.keys) {
            // No early exit: the time taken does not depend on which key, if any, matched.
            if (entry.hash.matches(presented) & match == null) {
                match = entry;
            }
        }
        return match == null ? Optional.empty() : Optional.of(new Caller(match.key.tenant(), match.key.id()));
    }

    /** Whether {@code presentedKey} is the admin key; always false when none is configured. */
    public boolean isAdminKey(String presentedKey) {
        return adminKey.map(hash -> hash.matches(KeyHash.of(presentedKey))).orElse(false);
    }

    /** Whether the admin API is on ({@code KILN_ADMIN_API_KEY} is set). */
    public boolean adminEnabled() {
        return adminKey.isPresent();
    }

    /**
     * Whether callers need no key: {@code KILN_AUTH=off}, or no key anywhere (no configured key,
     * none created by the admin API, no admin key), as in the local run. Every caller is then
     * the default tenant.
     */
    public boolean isOpen() {
        return mode == AuthMode.OFF || (snapshot.keys.isEmpty() && adminKey.isEmpty());
    }

    /** The tenant every caller is when {@link #isOpen()}. */
    public String defaultTenant() {
        return defaultTenant;
    }

    /** The tenant {@code id}: its settings, or the defaults if nothing is known of it. */
    public Tenant tenant(String id) {
        Tenant tenant = snapshot.tenants.get(id);
        return tenant != null ? tenant : resolve(id, null);
    }

    /**
     * The tenant's weight in the dispatcher's fair share across tenants (at least 1): what the
     * admin API set, else {@code kiln.auth.quotas.weight}. Cheap (one map lookup in a snapshot), so
     * the dispatcher may ask on every release; a change reaches it within a second.
     */
    public int weight(String id) {
        return tenant(id).weight();
    }

    /**
     * The largest share of the organisation's images per minute the tenant may use, above 0 and
     * at most 1 ({@code ipm_share_cap}); for whatever paces releases or renders per tenant.
     */
    public double ipmShareCap(String id) {
        return tenant(id).quotas().ipmShareCap();
    }

    /** Whether {@code id} has keys in configuration or anything set through the admin API. */
    public boolean knows(String id) {
        return snapshot.tenants.containsKey(id);
    }

    /** Every known tenant id, sorted. */
    public List<String> tenantIds() {
        return snapshot.tenants.keySet().stream().sorted().toList();
    }

    /** The tenant's valid keys, by id only. */
    public List<TenantKey> keys(String tenant) {
        return snapshot.keys.stream().map(e -> e.key).filter(k -> k.tenant().equals(tenant)).toList();
    }

    /** The admin API's record of the tenant, as last read from {@code kiln.tenants}. */
    Optional<TenantRecord> record(String tenant) {
        return Optional.ofNullable(records.get(tenant));
    }

    /** Configured keys of the tenant (revoked or not). */
    List<ApiKeys.ConfiguredKey> configuredKeys(String tenant) {
        return configured.keys().stream().filter(k -> k.tenant().equals(tenant)).toList();
    }

    SecretBox secrets() {
        return secrets;
    }

    /** Applies records read from {@code kiln.tenants}; a null value forgets the tenant's changes. */
    void apply(Map<String, TenantRecord> changes) {
        if (changes.isEmpty()) {
            return;
        }
        changes.forEach((tenant, record) -> {
            if (record == null) {
                records.remove(tenant);
            } else {
                records.put(tenant, record);
            }
        });
        snapshot = build();
    }

    private Snapshot build() {
        Set<String> ids = new LinkedHashSet<>();
        configured.keys().forEach(k -> ids.add(k.tenant()));
        ids.addAll(records.keySet());
        Map<String, Tenant> tenants = new HashMap<>();
        List<Entry> keys = new ArrayList<>();
        for (String id : ids) {
            TenantRecord record = records.get(id);
            tenants.put(id, resolve(id, record));
            Set<String> revoked = record == null ? Set.of() : new HashSet<>(record.revokedKeys());
            for (ApiKeys.ConfiguredKey key : configuredKeys(id)) {
                if (!revoked.contains(key.hash().hex())) {
                    keys.add(new Entry(key.hash(), new TenantKey(key.hash().id(), id, TenantKey.CONFIG, null, null)));
                }
            }
            if (record != null) {
                for (TenantRecord.StoredKey stored : record.keys()) {
                    keys.add(new Entry(KeyHash.fromHex(stored.sha256()),
                            new TenantKey(stored.id(), id, TenantKey.ADMIN, stored.label(), stored.createdAt())));
                }
            }
        }
        return new Snapshot(Map.copyOf(tenants), List.copyOf(keys));
    }

    private Tenant resolve(String id, TenantRecord record) {
        if (record == null) {
            return new Tenant(id, defaultWeight, defaultQuotas, List.of(secrets.derivedWebhookSecret(id)));
        }
        return new Tenant(id,
                record.weight() != null ? record.weight() : defaultWeight,
                defaultQuotas.with(record.quotas()),
                webhookSecrets(id, record));
    }

    /** The record's secrets, opened; the derived one while the admin API has not rotated any. */
    List<WebhookSecret> webhookSecrets(String id, TenantRecord record) {
        List<WebhookSecret> opened = new ArrayList<>();
        for (TenantRecord.SealedSecret sealed : record.webhookSecrets()) {
            try {
                opened.add(new WebhookSecret(secrets.open(id, sealed.sealed()), sealed.expiresAt()));
            } catch (IllegalArgumentException e) {
                if (unopenedSecretsLogged.add(id)) {
                    // The message names the tenant and the likely cause, never the secret.
                    Log.errorf("webhook secrets of tenant %s in kiln.tenants cannot be opened: %s", id, e.getMessage());
                }
            }
        }
        if (opened.isEmpty()) {
            opened.add(secrets.derivedWebhookSecret(id));
        }
        return opened;
    }

    private record Entry(KeyHash hash, TenantKey key) {
    }

    private record Snapshot(Map<String, Tenant> tenants, List<Entry> keys) {
    }

    @Override
    public String toString() {
        return "TenantDirectory[tenants=" + snapshot.tenants.size() + ", keys=" + snapshot.keys.size() + "]";
    }
}
