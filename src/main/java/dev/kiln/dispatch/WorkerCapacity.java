package dev.kiln.dispatch;

import io.quarkus.logging.Log;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The calls the workers can have in flight in all without a rate limit: members of the workers'
 * consumer group times what each keeps in flight then ({@code ConcurrencyTarget#withoutRate}). Read in the background; the window needs it only when there is no rate
 * limit to size it from.
 */
final class WorkerCapacity implements Runnable {

    private final Admin admin;
    private final String group;
    private final int perWorker;
    private volatile int capacity;
    private volatile boolean failureLogged;

    WorkerCapacity(Admin admin, String group, int perWorker) {
        this.admin = admin;
        this.group = group;
        this.perWorker = perWorker;
    }

    /** The last figure read; 0 before the first or when no worker is up. */
    int current() {
        return capacity;
    }

    @Override
    public void run() {
        try {
            ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group))
                    .describedGroups().get(group).get(5, TimeUnit.SECONDS);
            capacity = description.members().size() * perWorker;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            if (!failureLogged) {
                failureLogged = true;
                Log.warnf("could not count the workers of group %s; the window keeps its last size: %s", group, e.toString());
            }
        }
    }
}
