package dev.kiln.localstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;

import org.junit.jupiter.api.Test;

class PortsTest {

    @Test
    void aPortInUseFailsWithAMessageThatSaysWhy() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName(Ports.LOOPBACK))) {
            assertThatThrownBy(() -> Ports.requireFree(taken.getLocalPort(), "The local Kafka broker"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("The local Kafka broker cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .hasMessageContaining("already in use");
        }
    }

    @Test
    void aFreePortPasses() {
        int port = Ports.freePort();
        Ports.requireFree(port, "anything");
        assertThat(Ports.orFree(port)).isEqualTo(port);
        assertThat(Ports.orFree(0)).isPositive();
    }
}
