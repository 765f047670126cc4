package eoshost.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Counts one contender's output back with a read_committed consumer, so only
 * what was committed counts. It creates the output topic, assigns all its
 * partitions from the beginning, writes --ready-file, and then watches:
 *
 * - throughput: records/s from the first poll that returns committed output
 *   to the poll that brings the count to --records, counting only the records
 *   after that first poll (the first transaction's records are not timed);
 *   with --max-seconds S the window ends after S s even if not every record
 *   has come back yet (complete=0 in the result): the rate is then over the
 *   records that did, which bounds a run on a machine too busy to finish;
 * - CPU: utime + stime of the contender (--pid-file, from /proc/PID/stat)
 *   over the same window, per record; and with --broker-pid-file the same
 *   for the broker, read at the same two moments, so that a contender's
 *   cost on the broker (its fetches, produces, transactions) is counted
 *   over the same records;
 * - latency (with --latency-mark FILE): for each record, the wall clock when
 *   the poll returned it minus its timestamp (set when the loader sent the
 *   input; every contender keeps it), over the records sent after the time in
 *   FILE (the loader's warm-up is left out);
 * - with --expect-checksum-sum S (the avro case): every record's value in
 *   the Confluent wire format, the sum of their checksums ({@link
 *   AvroOrders#checksum}, the bytes after the schema id) against the
 *   loader's S once every record is back, and the schema ids seen; a
 *   difference makes the status "wrong: …".
 *
 * The figures go to --result-file as key=value lines (status=ok, or what went
 * wrong: a timeout, or the contender exiting early unless
 * --contender-may-exit 1). Then it waits for the contender to exit and
 * deletes the output topic and --delete-group.
 *
 * A job with --input-topic is timed by the contender's committed input
 * offsets instead, its output checked as a windowed count's ({@link
 * CommittedCount}); one with --sink-table is a sink into PostgreSQL, timed
 * the same way and its table checked ({@link SinkCount}).
 */
final class Counter {
    private Counter() {}

    /** One count (the `count` command). */
    static int run(Args args) throws Exception {
        try (Admin admin = admin(args.get("bootstrap"))) {
            return dispatch(admin, args);
        }
    }

    /** A plain count, a count by committed input offsets (--input-topic), or a sink's (--sink-table). */
    private static int dispatch(Admin admin, Args job) throws Exception {
        if (job.get("sink-table", null) != null) {
            return SinkCount.count(admin, job);
        }
        return job.get("input-topic", null) == null ? count(admin, job) : CommittedCount.count(admin, job);
    }

    /**
     * Counts one job a line from stdin (the `count-serve` command), each line
     * the options of one `count`, added to the command's own: one warm JVM for
     * every run, so the start-up of a counter is not paid per run.
     */
    static int serve(Args base) throws Exception {
        int failed = 0;
        try (Admin admin = admin(base.get("bootstrap"));
                var jobs = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = jobs.readLine(); line != null; line = jobs.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                Args job = base.with(line.trim().split("\\s+"));
                try {
                    int status = dispatch(admin, job);
                    failed += status == 0 ? 0 : 1;
                } catch (Exception e) {
                    failed++;
                    System.err.println("count: job failed: " + e);
                    writeLines(Path.of(job.get("result-file")), List.of("status=error: " + e.getMessage()));
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static Admin admin(String bootstrap) {
        var adminConfig = new Properties();
        adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(adminConfig);
    }

    private static int count(Admin admin, Args args) throws Exception {
        String bootstrap = args.get("bootstrap");
        String topic = args.get("topic");
        int partitions = (int) args.getLong("partitions");
        long expected = args.getLong("records");
        Path result = Path.of(args.get("result-file"));
        Path pidFile = Path.of(args.get("pid-file"));
        String brokerPids = args.get("broker-pid-file", null);
        Path brokerPidFile = brokerPids == null ? null : Path.of(brokerPids);
        boolean mayExit = args.getLong("contender-may-exit", 0) != 0;
        long ticksPerSecond = args.getLong("clk-tck", 100);
        String latencyMark = args.get("latency-mark", null);
        String expectedChecksums = args.get("expect-checksum-sum", null);
        long firstTimeout = TimeUnit.SECONDS.toNanos(args.getLong("first-timeout-s", 90));
        long idleTimeout = TimeUnit.SECONDS.toNanos(args.getLong("idle-timeout-s", 30));
        long windowCap = TimeUnit.SECONDS.toNanos(args.getLong("max-seconds", 3600));

        createTopic(admin, topic, partitions);
        String status;
        Window window = new Window(latencyMark != null ? (int) expected : 0, pidFile, brokerPidFile,
                expectedChecksums != null);
        try (var consumer = new KafkaConsumer<byte[], byte[]>(outputConsumer(bootstrap))) {
            List<TopicPartition> assigned = awaitPartitions(consumer, topic, partitions);
            consumer.assign(assigned);
            consumer.seekToBeginning(assigned);
            assigned.forEach(consumer::position);
            Files.writeString(Path.of(args.get("ready-file")), "ready\n");

            long started = System.nanoTime();
            long lastProgress = started;
            long goneSince = 0;
            while (true) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(50));
                long now = System.nanoTime();
                if (!records.isEmpty()) {
                    window.seen(records, now, System.currentTimeMillis());
                    lastProgress = now;
                    if (window.count >= expected || now - window.firstNanos >= windowCap) {
                        window.finish(now);
                        status = "ok";
                        break;
                    }
                    continue;
                }
                if (!mayExit && Files.exists(pidFile) && ProcCpu.ticks(pidFile) < 0) {
                    // Gone: give its last commit a moment to become visible.
                    goneSince = goneSince == 0 ? now : goneSince;
                    if (now - goneSince > TimeUnit.SECONDS.toNanos(3)) {
                        status = "failed: the contender exited at " + window.count + " of " + expected + " records";
                        break;
                    }
                }
                if (window.count == 0 && now - started > firstTimeout) {
                    status = "timeout: no committed output within " + firstTimeout / 1_000_000_000 + " s";
                    break;
                } else if (window.count > 0 && now - lastProgress > idleTimeout) {
                    status = "timeout: stuck at " + window.count + " of " + expected + " records";
                    break;
                }
            }
        }
        status = checkChecksums(window, expected, expectedChecksums, status);
        writeResult(result, window, expected, ticksPerSecond, latencyMark, status);
        awaitExit(pidFile);
        cleanup(admin, topic, args.get("delete-group", null));
        return status.equals("ok") ? 0 : 1;
    }

    /** The settings of the consumer that reads a contender's output: read_committed. */
    static Properties outputConsumer(String bootstrap) {
        var consumerConfig = Clients.consumer(bootstrap);
        consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // Small waits so a commit is seen within milliseconds; large polls so
        // the counter never becomes the bottleneck.
        consumerConfig.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
        consumerConfig.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 50_000);
        consumerConfig.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 << 20);
        consumerConfig.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 << 20);
        return consumerConfig;
    }

    /** What was seen between the first committed output and the last. */
    private static final class Window {
        long count;
        long firstCount;
        long firstNanos;
        long lastNanos;
        long firstTicks = -1;
        long lastTicks = -1;
        long brokerFirstTicks = -1;
        long brokerLastTicks = -1;
        final long[] timestamps;
        final int[] latencies;
        int samples;
        /** With checksums: their sum, the values not in the wire format, the schema ids seen. */
        final boolean checksums;
        long checksumSum;
        long malformed;
        final java.util.SortedSet<Integer> schemaIds = new java.util.TreeSet<>();
        private final Path pidFile;
        private final Path brokerPidFile;

        /** brokerPidFile: null when the broker's CPU is not measured. */
        Window(int latencyCapacity, Path pidFile, Path brokerPidFile, boolean checksums) {
            timestamps = new long[latencyCapacity];
            latencies = new int[latencyCapacity];
            this.pidFile = pidFile;
            this.brokerPidFile = brokerPidFile;
            this.checksums = checksums;
        }

        void seen(ConsumerRecords<byte[], byte[]> records, long nanos, long wallMillis) {
            if (count == 0) {
                firstNanos = nanos;
                firstTicks = ProcCpu.ticks(pidFile);
                brokerFirstTicks = brokerTicks();
            }
            for (ConsumerRecord<byte[], byte[]> record : records) {
                if (samples < latencies.length) {
                    timestamps[samples] = record.timestamp();
                    latencies[samples++] = (int) Math.min(Integer.MAX_VALUE, wallMillis - record.timestamp());
                }
                if (checksums) {
                    byte[] value = record.value();
                    int id = value == null ? -1 : AvroOrders.schemaId(value);
                    if (id < 0) {
                        malformed++;
                    } else {
                        schemaIds.add(id);
                        checksumSum += AvroOrders.checksum(value);
                    }
                }
            }
            count += records.count();
            if (firstCount == 0) {
                firstCount = count;
            }
        }

        void finish(long nanos) {
            lastNanos = nanos;
            lastTicks = ProcCpu.ticks(pidFile);
            brokerLastTicks = brokerTicks();
        }

        private long brokerTicks() {
            return brokerPidFile == null ? -1 : ProcCpu.ticks(brokerPidFile);
        }
    }

    /**
     * The status once the checksums are compared: "wrong: …" when every record
     * came back but not the loader's bytes; as it was when nothing is checked
     * or the run was cut off before every record came back.
     */
    private static String checkChecksums(Window window, long expected, String expectedSum, String status) {
        if (expectedSum == null || !status.equals("ok") || window.count < expected) {
            return status;
        }
        if (window.malformed > 0) {
            return "wrong: " + window.malformed + " values not in the Confluent wire format";
        }
        if (window.count != expected || window.checksumSum != Long.parseLong(expectedSum)) {
            return "wrong: " + window.count + " records whose checksums sum to " + window.checksumSum + ", not "
                    + expectedSum;
        }
        return status;
    }

    private static void writeResult(Path result, Window window, long expected, long ticksPerSecond,
            String latencyMark, String status) throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add("status=" + status);
        lines.add("records=" + window.count);
        lines.add("complete=" + (window.count >= expected ? 1 : 0));
        if (window.checksums) {
            lines.add("checksum_sum=" + window.checksumSum);
            lines.add("malformed=" + window.malformed);
            lines.add("schema_ids=" + window.schemaIds.stream().map(String::valueOf)
                    .collect(java.util.stream.Collectors.joining(",")));
        }
        lines.add("first_poll_records=" + window.firstCount);
        long timed = window.count - window.firstCount;
        double seconds = (window.lastNanos - window.firstNanos) / 1e9;
        if (status.equals("ok") && timed > 0 && seconds > 0) {
            lines.add(String.format("seconds=%.3f", seconds));
            lines.add(String.format("rate=%.0f", timed / seconds));
            if (window.firstTicks >= 0 && window.lastTicks >= 0) {
                double cpuMicros = (window.lastTicks - window.firstTicks) * 1e6 / ticksPerSecond;
                lines.add(String.format("cpu_us_per_record=%.2f", cpuMicros / timed));
            }
            if (window.brokerFirstTicks >= 0 && window.brokerLastTicks >= 0) {
                double brokerMicros = (window.brokerLastTicks - window.brokerFirstTicks) * 1e6 / ticksPerSecond;
                lines.add(String.format("broker_us_per_record=%.2f", brokerMicros / timed));
            }
        }
        if (latencyMark != null && status.equals("ok")) {
            long mark = Long.parseLong(Files.readString(Path.of(latencyMark)).trim());
            int[] measured = new int[window.samples];
            int n = 0;
            for (int i = 0; i < window.samples; i++) {
                if (window.timestamps[i] >= mark) {
                    measured[n++] = window.latencies[i];
                }
            }
            Arrays.sort(measured, 0, n);
            if (n > 0) {
                lines.add("latency_samples=" + n);
                lines.add("latency_p50_ms=" + measured[(int) Math.min(n - 1, Math.ceil(0.50 * n) - 1)]);
                lines.add("latency_p99_ms=" + measured[(int) Math.min(n - 1, Math.ceil(0.99 * n) - 1)]);
                lines.add("latency_max_ms=" + measured[n - 1]);
            }
        }
        writeLines(result, lines);
    }

    /** Written whole and renamed, so scripts/bench never reads half a file. */
    static void writeLines(Path result, List<String> lines) throws java.io.IOException {
        Path partial = result.resolveSibling(result.getFileName() + ".part");
        Files.write(partial, lines);
        Files.move(partial, result, StandardCopyOption.ATOMIC_MOVE);
    }

    static void createTopic(Admin admin, String topic, int partitions) throws Exception {
        try {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(partitions), Optional.empty())))
                    .all().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
    }

    static List<TopicPartition> awaitPartitions(KafkaConsumer<byte[], byte[]> consumer, String topic,
            int partitions) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic);
            if (infos != null && infos.size() == partitions) {
                return infos.stream().map(info -> new TopicPartition(topic, info.partition())).toList();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topic " + topic + " has no " + partitions
                        + " partitions in the metadata after 30 s; is the broker healthy?");
            }
            Thread.sleep(100);
        }
    }

    /** The contender is stopped by scripts/bench once the result is written. */
    static void awaitExit(Path pidFile) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (ProcCpu.ticks(pidFile) >= 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }

    static void cleanup(Admin admin, String topic, String group) {
        try {
            admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            if (group != null) {
                admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            // scripts/bench deletes whatever is left under its run prefix at the end.
            System.err.println("count: cleanup of " + topic + " left for the end: " + e.getMessage());
        }
    }
}
