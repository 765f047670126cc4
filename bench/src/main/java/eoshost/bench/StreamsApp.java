package eoshost.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.processor.StateRestoreListener;

/**
 * What every Kafka Streams contender shares: its settings and its life. The
 * settings are exactly_once_v2, --threads stream threads and the --commit-ms
 * commit interval every contender gets (100 ms, also the EOS default);
 * everything else is left at Kafka Streams' defaults, the way its
 * documentation has a new user write an application. The application runs
 * until SIGTERM (then it is closed, within 10 s); a failure ends it earlier
 * with exit status 1, which the counter sees.
 *
 * A topology with global tables logs how long they took to load, once, in
 * eoshost's words ("table loaded table=TOPIC records=N seconds=S"), so that
 * scripts/bench reads both alike: from the global stores' restore listener,
 * from the start of the first partition's restore to the end of the last,
 * printed when the application is first RUNNING (global stores are restored
 * before any stream thread runs).
 */
final class StreamsApp {
    private StreamsApp() {}

    /** Runs the topology of builder, with --group as its application id. */
    static void run(Args args, StreamsBuilder builder) throws Exception {
        Properties config = new Properties();
        config.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("group"));
        config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap"));
        config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, (int) args.getLong("threads", 1));
        config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args.getLong("commit-ms", 100));
        // A state directory of our own per run, so that runs never share one
        // (a stateless topology still locks it; a global table's store lives
        // there) and none is left behind.
        Path stateDir = Files.createTempDirectory("eoshost-bench-kstreams-");
        config.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());

        Topology topology = builder.build();
        KafkaStreams streams = new KafkaStreams(topology, config);
        CountDownLatch ended = new CountDownLatch(1);
        GlobalLoad globalLoad = new GlobalLoad();
        // The listener hears every store's restore, a local store's changelog
        // too: only a topology with global tables has a table load to report.
        if (!topology.describe().globalStores().isEmpty()) {
            streams.setGlobalStateRestoreListener(globalLoad);
        }
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.RUNNING) {
                globalLoad.report();
            }
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                ended.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(error -> {
            System.err.println("kstreams: stream thread failed: " + error);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        AtomicBoolean closing = new AtomicBoolean();
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

    private static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (java.io.IOException e) {
            System.err.println("kstreams: could not remove " + root + ": " + e.getMessage());
        }
    }

    /** Sums the global stores' restore, partition by partition. */
    private static final class GlobalLoad implements StateRestoreListener {
        private final AtomicLong records = new AtomicLong();
        private final AtomicLong firstStart = new AtomicLong();
        private final AtomicLong lastEnd = new AtomicLong();
        private final AtomicBoolean reported = new AtomicBoolean();
        private volatile String topic;

        @Override
        public void onRestoreStart(TopicPartition partition, String store, long startOffset, long endOffset) {
            firstStart.compareAndSet(0, System.nanoTime());
            topic = partition.topic();
        }

        @Override
        public void onBatchRestored(TopicPartition partition, String store, long batchEndOffset, long restored) {
            records.addAndGet(restored);
        }

        @Override
        public void onRestoreEnd(TopicPartition partition, String store, long restored) {
            lastEnd.set(System.nanoTime());
        }

        /** Logs the load once, if there was one (a topology without global tables has none). */
        void report() {
            if (firstStart.get() == 0 || reported.getAndSet(true)) {
                return;
            }
            System.err.printf("kstreams: table loaded table=%s records=%d seconds=%.3f%n", topic, records.get(),
                    (lastEnd.get() - firstStart.get()) / 1e9);
        }
    }
}
