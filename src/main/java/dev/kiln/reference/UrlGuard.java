package dev.kiln.reference;

import okhttp3.Dns;
import okhttp3.HttpUrl;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.function.Predicate;

/**
 * Decides which URLs a worker may fetch, on every hop of a redirect chain: {@code https} only,
 * a host on {@code kiln.references.allowed-hosts}, no user info, and every address the host
 * resolves to public (see {@link InternalAddresses}).
 *
 * <p>It is also the HTTP client's {@link Dns}: the addresses the client connects to are the ones
 * vetted here, in the same lookup, so a host that answers DNS with a public address for the check
 * and a private one for the connection (DNS rebinding) gets nowhere. OkHttp connects to an IP
 * literal without asking {@code Dns}, which is why {@link #check(HttpUrl)} resolves and vets
 * every host, literals included, before a request is made.
 */
public class UrlGuard implements Dns {

    private final ReferenceFetchConfig config;
    private final Predicate<InetAddress> refused;

    public UrlGuard(ReferenceFetchConfig config) {
        this(config, config.allowPrivateAddresses() ? address -> false : InternalAddresses::isInternal);
    }

    /** For tests: {@code refused} decides which resolved addresses are refused. */
    UrlGuard(ReferenceFetchConfig config, Predicate<InetAddress> refused) {
        this.config = config;
        this.refused = refused;
    }

    /**
     * Parses and checks {@code url}.
     *
     * @throws ReferenceException a permanent {@link ReferenceException#REFUSED} when the URL may not be fetched;
     *                            a retryable one when its host cannot be resolved right now
     */
    public HttpUrl check(String url) {
        HttpUrl parsed = url == null ? null : HttpUrl.parse(url);
        if (parsed == null) {
            throw ReferenceException.permanent(ReferenceException.REFUSED, "not a valid URL");
        }
        return check(parsed);
    }

    /** Checks an already parsed URL, such as a redirect's target; see {@link #check(String)}. */
    public HttpUrl check(HttpUrl url) {
        checkSchemeAndHost(url);
        try {
            lookup(url.host());
        } catch (RefusedAddressException e) {
            throw ReferenceException.permanent(ReferenceException.REFUSED, e.getMessage());
        } catch (UnknownHostException e) {
            // NXDOMAIN and a resolver timeout look the same from here; a retry settles which it was.
            throw ReferenceException.transientFault("cannot resolve " + url.host(), e);
        }
        return url;
    }

    /**
     * The checks that need no DNS: scheme, user info and the allow-list. Separate so that they can
     * be tested without a network.
     */
    public void checkSchemeAndHost(HttpUrl url) {
        if (!url.isHttps()) {
            throw ReferenceException.permanent(ReferenceException.REFUSED,
                    "only https URLs are fetched, not " + url.scheme() + " (" + UrlGuard.describe(url) + ")");
        }
        if (!url.username().isEmpty() || !url.password().isEmpty()) {
            throw ReferenceException.permanent(ReferenceException.REFUSED,
                    "URLs with user info are not fetched (" + UrlGuard.describe(url) + ")");
        }
        if (!config.allowsHost(url.host())) {
            throw ReferenceException.permanent(ReferenceException.REFUSED,
                    "host " + url.host() + " is not on kiln.references.allowed-hosts");
        }
    }

    /**
     * Resolves an allow-listed host and refuses it when any of its addresses is internal: a host
     * that mixes public and internal addresses is not trusted with either.
     */
    @Override
    public List<InetAddress> lookup(String host) throws UnknownHostException {
        if (!config.allowsHost(host)) {
            throw new RefusedAddressException("host " + host + " is not on kiln.references.allowed-hosts");
        }
        List<InetAddress> addresses = List.of(InetAddress.getAllByName(host));
        for (InetAddress address : addresses) {
            if (refused.test(address)) {
                throw new RefusedAddressException("host " + host + " resolves to the internal address "
                        + address.getHostAddress() + ", which references may not reach");
            }
        }
        return addresses;
    }

    /**
     * A URL as errors and logs may show it: scheme, host, port and path, never the query or user
     * info, which may hold a signature or token.
     */
    public static String describe(HttpUrl url) {
        return url.scheme() + "://" + url.host() + (url.port() == HttpUrl.defaultPort(url.scheme()) ? "" : ":" + url.port())
                + url.encodedPath();
    }

    /**
     * A host refused by the guard inside a DNS lookup. It extends {@link UnknownHostException}
     * because that is what {@link Dns#lookup(String)} may throw; the fetcher tells it apart from a
     * real resolver failure by its type.
     */
    public static final class RefusedAddressException extends UnknownHostException {
        RefusedAddressException(String message) {
            super(message);
        }
    }
}
