package dev.kiln.reference;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;

/**
 * Addresses a reference URL must never reach: everything that is not a public unicast address.
 * A batch names the URL, so without this check anyone who may submit a batch could make a worker
 * fetch from its own network: the cloud metadata endpoint at 169.254.169.254, a database on
 * 10.0.0.5, the worker itself on 127.0.0.1. The JDK's {@code isSiteLocalAddress} and friends miss
 * several ranges (carrier-grade NAT, benchmarking, unique-local IPv6, IPv4 embedded in IPv6), so
 * the ranges are listed here, from the IANA special-purpose registries (RFC 6890 and updates).
 */
public final class InternalAddresses {

    private static final List<Range> IPV4 = List.of(
            Range.of("0.0.0.0", 8),        // "this network", including 0.0.0.0, which reaches the local host
            Range.of("10.0.0.0", 8),       // private
            Range.of("100.64.0.0", 10),    // carrier-grade NAT, often a cloud provider's internal network
            Range.of("127.0.0.0", 8),      // loopback
            Range.of("169.254.0.0", 16),   // link-local, cloud metadata endpoints
            Range.of("172.16.0.0", 12),    // private
            Range.of("192.0.0.0", 24),     // IETF protocol assignments
            Range.of("192.0.2.0", 24),     // documentation
            Range.of("192.88.99.0", 24),   // 6to4 relay anycast
            Range.of("192.168.0.0", 16),   // private
            Range.of("198.18.0.0", 15),    // benchmarking
            Range.of("198.51.100.0", 24),  // documentation
            Range.of("203.0.113.0", 24),   // documentation
            Range.of("224.0.0.0", 4),      // multicast
            Range.of("240.0.0.0", 4));     // reserved, including broadcast 255.255.255.255

    private static final List<Range> IPV6 = List.of(
            Range.of("::", 128),           // unspecified
            Range.of("::1", 128),          // loopback
            Range.of("64:ff9b:1::", 48),   // local-use NAT64
            Range.of("100::", 64),         // discard-only
            Range.of("2001::", 32),        // Teredo: tunnels to an IPv4 host that is not checkable here
            Range.of("2001:db8::", 32),    // documentation
            Range.of("fc00::", 7),         // unique local
            Range.of("fe80::", 10),        // link-local
            Range.of("fec0::", 10),        // site-local (deprecated, still routed by some stacks)
            Range.of("ff00::", 8));        // multicast

    private static final Range IPV4_MAPPED = Range.of("::ffff:0.0.0.0", 96);
    private static final Range IPV4_COMPATIBLE = Range.of("::", 96);
    private static final Range NAT64 = Range.of("64:ff9b::", 96);
    private static final Range SIX_TO_FOUR = Range.of("2002::", 16);

    private InternalAddresses() {
    }

    /** Whether {@code address} is anything but a public unicast address. */
    public static boolean isInternal(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (address instanceof Inet4Address) {
            return matchesAny(IPV4, bytes);
        }
        if (!(address instanceof Inet6Address)) {
            return true; // an address family we do not know is not one we vouch for
        }
        if (matchesAny(IPV6, bytes)) {
            return true;
        }
        // IPv6 forms that carry an IPv4 address reach that IPv4 host: judge the host.
        if (IPV4_MAPPED.contains(bytes) || IPV4_COMPATIBLE.contains(bytes) || NAT64.contains(bytes)) {
            return matchesAny(IPV4, Arrays.copyOfRange(bytes, 12, 16));
        }
        if (SIX_TO_FOUR.contains(bytes)) {
            return matchesAny(IPV4, Arrays.copyOfRange(bytes, 2, 6));
        }
        return false;
    }

    private static boolean matchesAny(List<Range> ranges, byte[] bytes) {
        for (Range range : ranges) {
            if (range.contains(bytes)) {
                return true;
            }
        }
        return false;
    }

    /** A CIDR block. */
    private record Range(byte[] network, int prefixBits) {

        /** A block from an address literal; literals never trigger a DNS lookup. */
        static Range of(String literal, int prefixBits) {
            try {
                byte[] network = InetAddress.getByName(literal).getAddress();
                if (literal.contains(":") && network.length == 4) {
                    // the JDK turns ::ffff:a.b.c.d literals into IPv4 addresses; keep the IPv6 form
                    byte[] mapped = new byte[16];
                    mapped[10] = (byte) 0xff;
                    mapped[11] = (byte) 0xff;
                    System.arraycopy(network, 0, mapped, 12, 4);
                    network = mapped;
                }
                return new Range(network, prefixBits);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("not an address literal: " + literal, e);
            }
        }

        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int fullBytes = prefixBits / 8;
            for (int i = 0; i < fullBytes; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int restBits = prefixBits % 8;
            if (restBits == 0) {
                return true;
            }
            int mask = (0xff << (8 - restBits)) & 0xff;
            return (address[fullBytes] & mask) == (network[fullBytes] & mask);
        }
    }
}
