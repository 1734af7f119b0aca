package dev.kiln.dispatch;

import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.query.PositionBound;
import org.apache.kafka.streams.query.Query;
import org.apache.kafka.streams.query.QueryConfig;
import org.apache.kafka.streams.query.QueryResult;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

import java.util.List;
import java.util.Map;

/**
 * An in-memory store that opens holding what a changelog held: what a new dispatcher instance
 * has after Kafka Streams restored its stores from their changelog topics, before any processor
 * runs. {@link org.apache.kafka.streams.TopologyTestDriver} wipes its state directory on close and
 * restores nothing itself, so the restart test restores this way.
 */
final class RestoredStore implements KeyValueStore<Bytes, byte[]> {

    private final KeyValueStore<Bytes, byte[]> delegate;
    private final Map<Bytes, byte[]> restored;

    private RestoredStore(String name, Map<Bytes, byte[]> restored) {
        this.delegate = Stores.inMemoryKeyValueStore(name).get();
        this.restored = restored;
    }

    /** A supplier of stores that open with {@code changelogs.get(store name)}. */
    static KeyValueBytesStoreSupplier supplier(String name, Map<String, Map<Bytes, byte[]>> changelogs) {
        return new KeyValueBytesStoreSupplier() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public KeyValueStore<Bytes, byte[]> get() {
                return new RestoredStore(name, changelogs.getOrDefault(name, Map.of()));
            }

            @Override
            public String metricsScope() {
                return "in-memory";
            }
        };
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        delegate.init(context, root);
        restored.forEach(delegate::put);
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public void flush() {
        delegate.flush();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public boolean persistent() {
        return false;
    }

    @Override
    public boolean isOpen() {
        return delegate.isOpen();
    }

    @Override
    public <R> QueryResult<R> query(Query<R> query, PositionBound positionBound, QueryConfig config) {
        return delegate.query(query, positionBound, config);
    }

    @Override
    public Position getPosition() {
        return delegate.getPosition();
    }

    @Override
    public void put(Bytes key, byte[] value) {
        delegate.put(key, value);
    }

    @Override
    public byte[] putIfAbsent(Bytes key, byte[] value) {
        return delegate.putIfAbsent(key, value);
    }

    @Override
    public void putAll(List<KeyValue<Bytes, byte[]>> entries) {
        delegate.putAll(entries);
    }

    @Override
    public byte[] delete(Bytes key) {
        return delegate.delete(key);
    }

    @Override
    public byte[] get(Bytes key) {
        return delegate.get(key);
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> range(Bytes from, Bytes to) {
        return delegate.range(from, to);
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> reverseRange(Bytes from, Bytes to) {
        return delegate.reverseRange(from, to);
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> all() {
        return delegate.all();
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> reverseAll() {
        return delegate.reverseAll();
    }

    @Override
    public <PS extends Serializer<P>, P> KeyValueIterator<Bytes, byte[]> prefixScan(P prefix, PS prefixKeySerializer) {
        return delegate.prefixScan(prefix, prefixKeySerializer);
    }

    @Override
    public long approximateNumEntries() {
        return delegate.approximateNumEntries();
    }
}
