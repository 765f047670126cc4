package eoshost.bench;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * SIGTERM for a poll loop: the JVM's shutdown hook wakes the consumer, and
 * waits (up to 10 s) until the loop has finished its transaction or commit and
 * closed its clients, so that scripts/bench stops every contender cleanly.
 */
final class Shutdown {
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile boolean requested;

    Shutdown(Consumer<?, ?> consumer) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            requested = true;
            consumer.wakeup();
            try {
                closed.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
    }

    boolean requested() {
        return requested;
    }

    /** Called by the loop once its clients are closed. */
    void closed() {
        closed.countDown();
    }
}
