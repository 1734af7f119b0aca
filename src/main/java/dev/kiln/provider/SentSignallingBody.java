package dev.kiln.provider;

import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A request body that says when it starts to go out: the HTTP client pulls the first bytes of
 * a body only once its connection is open and the request's headers are written, so that moment
 * is as close to the provider's count of the call as the client can see. The rate permits count
 * the call from then ({@link RenderPermits#sent(RenderPermits.Permit)}).
 */
final class SentSignallingBody implements HttpRequest.BodyPublisher {

    private final HttpRequest.BodyPublisher body;
    private final Runnable onSent;

    /** {@code body}, calling {@code onSent} once, when its first bytes are handed to the connection. */
    SentSignallingBody(HttpRequest.BodyPublisher body, Runnable onSent) {
        this.body = body;
        this.onSent = onSent;
    }

    @Override
    public long contentLength() {
        return body.contentLength();
    }

    @Override
    public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
        AtomicBoolean told = new AtomicBoolean();
        body.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                subscriber.onSubscribe(subscription);
            }

            @Override
            public void onNext(ByteBuffer item) {
                if (told.compareAndSet(false, true)) {
                    onSent.run();
                }
                subscriber.onNext(item);
            }

            @Override
            public void onError(Throwable throwable) {
                subscriber.onError(throwable);
            }

            @Override
            public void onComplete() {
                // An empty body has no first bytes: it goes out now.
                if (told.compareAndSet(false, true)) {
                    onSent.run();
                }
                subscriber.onComplete();
            }
        });
    }
}
