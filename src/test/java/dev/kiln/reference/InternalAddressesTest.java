package dev.kiln.reference;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.Inet6Address;
import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;

/** Which resolved addresses a reference URL may reach. Literals only: no test here touches DNS. */
class InternalAddressesTest {

    @ParameterizedTest
    @ValueSource(strings = {
            "127.0.0.1", "127.255.255.254",             // loopback
            "10.0.0.1", "10.255.255.255",               // private
            "172.16.0.1", "172.31.255.255",             // private
            "192.168.0.1", "192.168.255.255",           // private
            "169.254.169.254", "169.254.0.1",           // link-local, cloud metadata
            "0.0.0.0", "0.1.2.3",                       // this host / this network
            "100.64.0.1", "100.127.255.255",            // carrier-grade NAT
            "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9",
            "224.0.0.1", "239.255.255.250",             // multicast
            "240.0.0.1", "255.255.255.255",             // reserved, broadcast
            "::1", "::",                                // IPv6 loopback, unspecified
            "fc00::1", "fd12:3456:789a::1",             // unique local
            "fe80::1", "fec0::1",                       // link-local, site-local
            "ff02::1",                                  // multicast
            "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", // IPv4-mapped
            "::127.0.0.1",                              // IPv4-compatible
            "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",    // NAT64 of 169.254.169.254 and 127.0.0.1
            "64:ff9b:1::1",                             // local-use NAT64
            "2002:7f00:1::1", "2002:a00:1::1",          // 6to4 of 127.0.0.1 and 10.0.0.1
            "2001::1",                                  // Teredo
            "2001:db8::1", "100::1"})
    void internalAddressesAreRefused(String literal) throws Exception {
        assertThat(InternalAddresses.isInternal(InetAddress.getByName(literal))).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"93.184.215.14", "8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1",
            "100.63.255.255", "100.128.0.1", "169.253.255.255", "192.169.0.1", "11.0.0.1", "223.255.255.254",
            "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"})
    void publicAddressesAreAllowed(String literal) throws Exception {
        assertThat(InternalAddresses.isInternal(InetAddress.getByName(literal))).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "10.1.2.3", "169.254.169.254"})
    void anIpv4MappedAddressKeptInItsIpv6FormIsJudgedByItsIpv4Host(String ipv4) throws Exception {
        byte[] v4 = InetAddress.getByName(ipv4).getAddress();
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(v4, 0, mapped, 12, 4);
        // Inet6Address.getByAddress keeps the IPv6 form that InetAddress.getByName would convert.
        InetAddress address = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(address).isInstanceOf(Inet6Address.class);
        assertThat(InternalAddresses.isInternal(address)).isTrue();
    }
}
