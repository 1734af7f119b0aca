package dev.kiln.localstack;

import dev.kiln.simulator.SimulatorServer;
import dev.kiln.simulator.SimulatorSettings;

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
     * @param server  the server itself, for tests that change its settings or read what it received
     */
    public record RunningSimulator(String baseUrl, SimulatorServer server) implements AutoCloseable {

        @Override
        public void close() {
            server.close();
        }
    }

    /** Starts the simulator on 127.0.0.1:{@code port} (0 for a free port) with its default settings. */
    public static RunningSimulator startSimulator(int port) {
        SimulatorServer server = SimulatorServer.start(SimulatorSettings.defaults().toBuilder().port(port).build());
        LOG.infof("gpt-image-2 simulator listening at %s", server.baseUrl());
        return new RunningSimulator(server.baseUrl(), server);
    }
}
