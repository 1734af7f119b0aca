package dev.kiln.localstack;

import org.jboss.logging.Logger;

/**
 * Starts the gpt-image-2 simulator for the local run and the tests. This is the only place in
 * the local stack that knows the simulator's API, so that the dev run and the test resource
 * start it the same way.
 */
public final class SimulatorLauncher {

    private static final Logger LOG = Logger.getLogger(SimulatorLauncher.class);

    private SimulatorLauncher() {
    }

    /**
     * A running simulator.
     *
     * @param baseUrl the value for {@code kiln.provider.base-url}, as OpenAI's base URL
     *                ({@code http://127.0.0.1:<port>/v1})
     * @param server  stops the simulator when closed
     */
    public record RunningSimulator(String baseUrl, AutoCloseable server) implements AutoCloseable {

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    /**
     * INTEGRATION POINT, the only one: starts {@code dev.kiln.simulator.SimulatorServer} on
     * 127.0.0.1:{@code port} once that class is on this branch, as
     * {@code SimulatorServer.start(settings with the port)}, returning its {@code baseUrl()}
     * and the server itself. Until then no simulator runs and the base URL points at the port
     * where it will listen.
     */
    public static RunningSimulator startSimulator(int port) {
        LOG.warnf("The gpt-image-2 simulator is not wired into the local stack yet; nothing listens on port %d", port);
        return new RunningSimulator("http://" + Ports.LOOPBACK + ":" + port + "/v1", () -> {
        });
    }
}
