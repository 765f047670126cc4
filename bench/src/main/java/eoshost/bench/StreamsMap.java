package eoshost.bench;

import java.nio.file.Files;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Kafka Streams contender: input → mapValues(identity) → output under
 * exactly_once_v2, the way its documentation has a new user write it. Everything
 * else is left at Kafka Streams' defaults except the commit interval, which is
 * set to the same value every contender gets (100 ms is also the EOS default).
 */
final class StreamsMap {
    private StreamsMap() {}

    static void run(Args args) throws Exception {
        Properties config = new Properties();
        config.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("group"));
        config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap"));
        config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, (int) args.getLong("threads", 1));
        config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args.getLong("commit-ms", 100));
        // A stateless topology keeps no stores, but the directory is still locked:
        // one of our own per run, so that runs never share or leave one behind.
        var stateDir = Files.createTempDirectory("eoshost-bench-kstreams-");
        config.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());

        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(args.get("input"), Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
                .mapValues(value -> value)
                .to(args.get("output"), Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));

        KafkaStreams streams = new KafkaStreams(builder.build(), config);
        CountDownLatch ended = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                ended.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(error -> {
            System.err.println("kstreams: stream thread failed: " + error);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        var closing = new java.util.concurrent.atomic.AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            closing.set(true);
            streams.close(Duration.ofSeconds(10));
            deleteTree(stateDir);
        }));
        streams.start();
        ended.await();
        if (!closing.get()) {
            // Only a failure ends the application before SIGTERM does.
            System.exit(1);
        }
    }

    private static void deleteTree(java.nio.file.Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (java.io.IOException e) {
            System.err.println("kstreams: could not remove " + root + ": " + e.getMessage());
        }
    }
}
