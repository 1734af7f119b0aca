package dev.kiln.simulator;

import java.util.concurrent.CountDownLatch;

/**
 * Runs the simulator as a process: settings from {@code SIMULATOR_*} environment variables, then
 * {@code --name=value} arguments (see {@link SimulatorSettings#withSetting(String, String)}). Prints
 * one line with the base URL and serves until killed. Needs only Jackson on the class path.
 */
public final class SimulatorMain {

    private SimulatorMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        SimulatorSettings settings = SimulatorSettings.fromEnvAndArgs(args);
        SimulatorServer server = SimulatorServer.start(settings);
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "simulator-shutdown"));
        System.out.println("Kiln simulator listening on " + server.baseUrl());
        new CountDownLatch(1).await();
    }
}
