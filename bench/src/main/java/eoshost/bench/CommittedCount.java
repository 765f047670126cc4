package eoshost.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Counts a contender whose output is much smaller than its input (the windows
 * case: one record per key and closed window) by what it has committed of
 * its input, the offsets of --group on --input-topic, which an exactly-once
 * contender commits in the same transaction as the output they produced:
 *
 * - records/s: input records from the first moment the group has committed
 *   offsets to the moment they reach the input's end offsets, asked every
 *   50 ms; what was committed at the first moment is not counted (as the
 *   first poll's records are not in {@link Counter});
 * - CPU per input record: the contender's and the broker's utime + stime
 *   read at the same two moments;
 * - the output, read meanwhile with read_committed and to its end once the
 *   input is: every value must be a window's count
 *   ({"key":"K","start":S,"end":E,"count":N}, end − start the window size,
 *   K the record's key), each key and window once, as many windows as
 *   --expect-outputs and their counts summing to --expect-sum (the loader's
 *   {@link WindowInput.Layout#expected}). A run whose output is wrong has
 *   status "wrong: …" and does not count.
 *
 * The rest is {@link Counter}'s: --max-seconds caps the window (complete=0,
 * the output then not checked), the same timeouts, the same result file;
 * afterwards it deletes the output topic, the group and the group's own
 * topics (eoshost's GROUP.state, Kafka Streams' GROUP-…-changelog).
 */
final class CommittedCount {
    private CommittedCount() {}

    private static final long ASK_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    static int count(Admin admin, Args args) throws Exception {
        String topic = args.get("topic");
        String input = args.get("input-topic");
        String group = args.get("group");
        long expectOutputs = args.getLong("expect-outputs");
        long expectSum = args.getLong("expect-sum");
        Path pidFile = Path.of(args.get("pid-file"));
        String brokerPids = args.get("broker-pid-file", null);
        Path brokerPidFile = brokerPids == null ? null : Path.of(brokerPids);
        long ticksPerSecond = args.getLong("clk-tck", 100);
        long firstTimeout = TimeUnit.SECONDS.toNanos(args.getLong("first-timeout-s", 90));
        long idleTimeout = TimeUnit.SECONDS.toNanos(args.getLong("idle-timeout-s", 30));
        long windowCap = TimeUnit.SECONDS.toNanos(args.getLong("max-seconds", 3600));

        Counter.createTopic(admin, topic, (int) args.getLong("partitions"));
        Outputs outputs = new Outputs();
        String status;
        long total;
        long firstCommitted = -1;
        long committed = 0;
        long firstNanos = 0;
        long lastNanos = 0;
        long[] firstTicks = {-1, -1};
        long[] lastTicks = {-1, -1};
        try (var consumer = new KafkaConsumer<byte[], byte[]>(Counter.outputConsumer(args.get("bootstrap")))) {
            List<TopicPartition> inputs = consumer.partitionsFor(input).stream()
                    .map(info -> new TopicPartition(input, info.partition())).toList();
            total = consumer.endOffsets(inputs).values().stream().mapToLong(Long::longValue).sum();
            List<TopicPartition> assigned = Counter.awaitPartitions(consumer, topic, (int) args.getLong("partitions"));
            consumer.assign(assigned);
            consumer.seekToBeginning(assigned);
            assigned.forEach(consumer::position);
            Files.writeString(Path.of(args.get("ready-file")), "ready\n");

            long started = System.nanoTime();
            long lastProgress = started;
            long lastAsked = started - ASK_EVERY_NANOS;
            long goneSince = 0;
            while (true) {
                outputs.add(consumer.poll(Duration.ofMillis(50)));
                long now = System.nanoTime();
                if (now - lastAsked < ASK_EVERY_NANOS) {
                    continue;
                }
                lastAsked = now;
                long seen = committed(admin, group, inputs);
                now = System.nanoTime();
                if (seen > committed) {
                    committed = seen;
                    lastProgress = now;
                    if (firstCommitted < 0) {
                        firstCommitted = seen;
                        firstNanos = now;
                        firstTicks = ticks(pidFile, brokerPidFile);
                    }
                }
                if (firstCommitted >= 0 && (committed >= total || now - firstNanos >= windowCap)) {
                    lastNanos = now;
                    lastTicks = ticks(pidFile, brokerPidFile);
                    status = "ok";
                    break;
                }
                if (ProcCpu.ticks(pidFile) < 0 && Files.exists(pidFile)) {
                    goneSince = goneSince == 0 ? now : goneSince;
                    if (now - goneSince > TimeUnit.SECONDS.toNanos(3)) {
                        status = "failed: the contender exited at " + committed + " of " + total + " input records";
                        break;
                    }
                }
                if (firstCommitted < 0 && now - started > firstTimeout) {
                    status = "timeout: no committed input offsets within " + firstTimeout / 1_000_000_000 + " s";
                    break;
                } else if (firstCommitted >= 0 && now - lastProgress > idleTimeout) {
                    status = "timeout: stuck at " + committed + " of " + total + " input records";
                    break;
                }
            }
            if (status.equals("ok") && committed >= total) {
                // Committed with the offsets, so visible by now or within moments.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (System.nanoTime() < deadline) {
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                    outputs.add(records);
                    if (records.isEmpty() && outputs.count >= expectOutputs) {
                        break;
                    }
                }
                String wrong = outputs.wrong(expectOutputs, expectSum);
                status = wrong == null ? status : "wrong: " + wrong;
            }
        }

        List<String> lines = new ArrayList<>();
        lines.add("status=" + status);
        lines.add("records=" + committed);
        lines.add("complete=" + (committed >= total ? 1 : 0));
        lines.add("first_poll_records=" + Math.max(0, firstCommitted));
        lines.add("input_records=" + total);
        long timed = committed - firstCommitted;
        double seconds = (lastNanos - firstNanos) / 1e9;
        if (firstCommitted >= 0 && lastNanos > 0 && timed > 0 && seconds > 0) {
            lines.add(String.format("seconds=%.3f", seconds));
            lines.add(String.format("rate=%.0f", timed / seconds));
            if (firstTicks[0] >= 0 && lastTicks[0] >= 0) {
                lines.add(String.format("cpu_us_per_record=%.2f",
                        (lastTicks[0] - firstTicks[0]) * 1e6 / ticksPerSecond / timed));
            }
            if (firstTicks[1] >= 0 && lastTicks[1] >= 0) {
                lines.add(String.format("broker_us_per_record=%.2f",
                        (lastTicks[1] - firstTicks[1]) * 1e6 / ticksPerSecond / timed));
            }
        }
        lines.add("outputs=" + outputs.count);
        lines.add("expected_outputs=" + expectOutputs);
        lines.add("count_sum=" + outputs.sum);
        lines.add("expected_sum=" + expectSum);
        lines.add("duplicates=" + outputs.duplicates);
        lines.add("malformed=" + outputs.malformed);
        Counter.writeLines(Path.of(args.get("result-file")), lines);
        Counter.awaitExit(pidFile);
        Counter.cleanup(admin, topic, args.get("delete-group", null));
        deleteTopicsOf(admin, group);
        return status.equals("ok") ? 0 : 1;
    }

    /** The contender's and the broker's CPU ticks now (-1 for what is not measured or gone). */
    private static long[] ticks(Path pidFile, Path brokerPidFile) {
        return new long[] {ProcCpu.ticks(pidFile), brokerPidFile == null ? -1 : ProcCpu.ticks(brokerPidFile)};
    }

    /** The input records group has committed (the sum of its offsets), 0 before its first commit. */
    private static long committed(Admin admin, String group, List<TopicPartition> inputs) throws InterruptedException {
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
            long sum = 0;
            for (TopicPartition partition : inputs) {
                OffsetAndMetadata offset = offsets.get(partition);
                sum += offset == null ? 0 : offset.offset();
            }
            return sum;
        } catch (ExecutionException | TimeoutException e) {
            // No such group yet, or a slow answer: no progress this time.
            return 0;
        }
    }

    /** eoshost's GROUP.state, Kafka Streams' GROUP-…-changelog: the run's state, not needed again. */
    private static void deleteTopicsOf(Admin admin, String group) {
        try {
            List<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
                    .filter(name -> name.startsWith(group + ".") || name.startsWith(group + "-")).toList();
            admin.deleteTopics(topics).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("count: the topics of group " + group + " are left for the end: " + e.getMessage());
        }
    }

    /** The windowed counts read so far, checked one by one. */
    private static final class Outputs {
        long count;
        long sum;
        long duplicates;
        long malformed;
        private final Set<String> windows = new HashSet<>();

        void add(ConsumerRecords<byte[], byte[]> records) {
            for (ConsumerRecord<byte[], byte[]> record : records) {
                count++;
                String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
                String value = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
                String named = text(value, "key");
                long start = number(value, "start");
                long end = number(value, "end");
                long counted = number(value, "count");
                if (key == null || !key.equals(named) || start < 0 || end - start != WindowInput.WINDOW_MS
                        || counted <= 0) {
                    malformed++;
                    continue;
                }
                sum += counted;
                if (!windows.add(key + "@" + start)) {
                    duplicates++;
                }
            }
        }

        /** What is wrong with the output, or null if it is what was expected. */
        String wrong(long expectOutputs, long expectSum) {
            if (count == expectOutputs && sum == expectSum && duplicates == 0 && malformed == 0) {
                return null;
            }
            return String.format("%d of %d windows, counts summing to %d of %d, %d duplicates, %d malformed",
                    count, expectOutputs, sum, expectSum, duplicates, malformed);
        }

        /** The digits after "NAME": in json, or -1. */
        private static long number(String json, String name) {
            String field = "\"" + name + "\":";
            int at = json.indexOf(field);
            if (at < 0) {
                return -1;
            }
            int from = at + field.length();
            int to = from;
            while (to < json.length() && Character.isDigit(json.charAt(to))) {
                to++;
            }
            return to == from ? -1 : Long.parseLong(json.substring(from, to));
        }

        /** The string after "NAME":" up to the next quote in json, or null. */
        private static String text(String json, String name) {
            String field = "\"" + name + "\":\"";
            int at = json.indexOf(field);
            int end = at < 0 ? -1 : json.indexOf('"', at + field.length());
            return end < 0 ? null : json.substring(at + field.length(), end);
        }
    }
}
