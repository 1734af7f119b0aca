package dev.kiln.webhook;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A platform's webhook endpoint for tests: a real HTTP server on loopback that records every
 * request (headers, raw body, arrival) and answers as the test says, call by call. Signatures are
 * checked by the tests with {@link WebhookSignerTest#verify}, the spec written out, never Kiln's signer.
 */
final class WebhookReceiver implements AutoCloseable {

    /** How to answer the {@code call}-th request (1 for the first): a status code, after sleeping if it likes. */
    @FunctionalInterface
    interface Answer {
        int status(int call) throws InterruptedException;
    }

    /**
     * One request as it arrived.
     *
     * @param headers lower-case names, first value each
     * @param body    the raw bytes, as signed
     * @param at      arrival
     */
    record Received(Map<String, String> headers, byte[] body, Instant at) {

        String webhookId() {
            return headers.get("webhook-id");
        }

        /** Whether the Standard Webhooks signature checks out with {@code secret}. */
        boolean verifies(String secret) {
            return WebhookSignerTest.verify(secret, webhookId(), headers.get("webhook-timestamp"), body,
                    headers.get("webhook-signature"));
        }
    }

    private final HttpServer server;
    private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger calls = new AtomicInteger();
    private volatile Answer answer;

    private WebhookReceiver(HttpServer server, Answer answer) {
        this.server = server;
        this.answer = answer;
    }

    /** Starts a receiver on a free loopback port, answering at {@code /hook}. */
    static WebhookReceiver start(Answer answer) {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            WebhookReceiver receiver = new WebhookReceiver(server, answer);
            // Each request on its own thread: a slow answer must not hold up the next attempt.
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/hook", exchange -> {
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                Map<String, String> headers = new HashMap<>();
                exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), values.getFirst()));
                receiver.received.add(new Received(headers, body, Instant.now()));
                int status;
                try {
                    status = receiver.answer.status(receiver.calls.incrementAndGet());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    status = 500;
                }
                try {
                    exchange.sendResponseHeaders(status, -1);
                } catch (IOException e) {
                    // Kiln gave up waiting (the attempt timed out): nothing to answer.
                }
                exchange.close();
            });
            server.start();
            return receiver;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The URL to give a batch as its {@code webhook}. */
    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    /** Answers from now on as {@code next} says. */
    void answer(Answer next) {
        this.answer = next;
    }

    /** Every request so far, in arrival order. */
    List<Received> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    /** The requests carrying {@code webhookId}. */
    List<Received> received(String webhookId) {
        return received().stream().filter(r -> webhookId.equals(r.webhookId())).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
