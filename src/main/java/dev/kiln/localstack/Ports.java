package dev.kiln.localstack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Port helpers for the local stack, which binds to the loopback address only. */
public final class Ports {

    /** The only address the local stack listens on: nothing of it is reachable from outside. */
    public static final String LOOPBACK = "127.0.0.1";

    private Ports() {
    }

    /**
     * A port that was free on the loopback address a moment ago. Another process may take it
     * before the caller binds it; that race is acceptable for tests and a local run.
     */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("No free port on " + LOOPBACK, e);
        }
    }

    /** {@code port} itself, or a free port when it is 0. */
    public static int orFree(int port) {
        return port == 0 ? freePort() : port;
    }

    /**
     * Fails with a message that names {@code what} when {@code port} cannot be bound, typically
     * because a previous run of the local stack is still up.
     */
    public static void requireFree(int port, String what) {
        try (ServerSocket socket = new ServerSocket()) {
            // Same option the servers themselves use, so a port in TIME_WAIT counts as free.
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(LOOPBACK), port));
        } catch (IOException e) {
            throw new IllegalStateException(what + " cannot listen on " + LOOPBACK + ":" + port
                    + ": the port is already in use (is another Kiln dev run or local stack still up?)."
                    + " Stop it, or choose another port in kiln.local-stack.*", e);
        }
    }
}
