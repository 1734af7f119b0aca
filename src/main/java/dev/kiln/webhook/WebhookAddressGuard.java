package dev.kiln.webhook;

import dev.kiln.reference.InternalAddresses;
import okhttp3.Dns;
import okhttp3.HttpUrl;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The address guard of reference URLs ({@link InternalAddresses}), without the host allow-list:
 * a webhook URL is {@code https} to a public address and carries no user info.
 * {@code KILN_ALLOW_PRIVATE_ADDRESSES=true} also allows {@code http} and internal addresses.
 *
 * <p>It is checked on every attempt, not only at intake, and it is the HTTP client's {@link Dns}:
 * the addresses connected to are the ones vetted in the same lookup, so a host that resolves to a
 * public address for the check and to an internal one for the connection (DNS rebinding) gets
 * nowhere. IP literals bypass {@code Dns} in OkHttp, so {@link #check(String)} vets them itself.
 */
final class WebhookAddressGuard implements Dns {

    private static final Pattern IPV4_LITERAL = Pattern.compile("[0-9.]+");

    private final boolean allowPrivate;
    private final Predicate<InetAddress> refused;

    WebhookAddressGuard(boolean allowPrivate) {
        this(allowPrivate, allowPrivate ? address -> false : InternalAddresses::isInternal);
    }

    /** For tests: {@code refused} decides which resolved addresses are refused. */
    WebhookAddressGuard(boolean allowPrivate, Predicate<InetAddress> refused) {
        this.allowPrivate = allowPrivate;
        this.refused = refused;
    }

    /**
     * Parses and checks {@code url} as far as that needs no DNS.
     *
     * @throws RefusedUrlException when the URL can never be called
     */
    HttpUrl check(String url) {
        HttpUrl parsed = url == null ? null : HttpUrl.parse(url);
        if (parsed == null) {
            throw new RefusedUrlException("the webhook URL is not a valid http(s) URL");
        }
        if (!parsed.isHttps() && !allowPrivate) {
            throw new RefusedUrlException("webhook URLs must be https, not " + parsed.scheme());
        }
        if (!parsed.username().isEmpty() || !parsed.password().isEmpty()) {
            throw new RefusedUrlException("webhook URLs may not carry user info");
        }
        String host = parsed.host();
        if (host.contains(":") || IPV4_LITERAL.matcher(host).matches()) {
            try {
                if (refused.test(InetAddress.getByName(host))) {
                    throw new RefusedUrlException("webhook URLs may not name the internal address " + host);
                }
            } catch (UnknownHostException e) {
                throw new RefusedUrlException("not an address: " + host);
            }
        }
        return parsed;
    }

    /** Resolves {@code host} and refuses it when any of its addresses is internal. */
    @Override
    public List<InetAddress> lookup(String host) throws UnknownHostException {
        List<InetAddress> addresses = List.of(InetAddress.getAllByName(host));
        for (InetAddress address : addresses) {
            if (refused.test(address)) {
                throw new RefusedAddressException("host " + host + " resolves to the internal address "
                        + address.getHostAddress() + ", which webhooks may not reach");
            }
        }
        return addresses;
    }

    /** A URL that can never be called: not retried. */
    static final class RefusedUrlException extends RuntimeException {
        RefusedUrlException(String message) {
            super(message);
        }
    }

    /**
     * A host that resolves to an internal address now. Retried on schedule, since DNS may change,
     * and each attempt is checked again. An {@link UnknownHostException} because that is what
     * {@link Dns#lookup} may throw.
     */
    static final class RefusedAddressException extends UnknownHostException {
        RefusedAddressException(String message) {
            super(message);
        }
    }
}
