package eoshost.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.common.utils.Utils;

/**
 * The input of the windows case (`load --data windows`): {@link #KEYS} keys
 * (k000 … k999), record i keyed by i % KEYS, its timestamp base + (i / KEYS)
 * seconds, so event time advances one second per KEYS records and every key
 * has one record in each second, ten in each window of {@link #WINDOW_MS}.
 * The base is aligned to the window size, so windows start at base, base +
 * 10 s, … for eoshost's window-count and Kafka Streams' TimeWindows alike
 * (both align windows to the epoch).
 *
 * Timestamps are in the recent past (the last one at least 10 s before the
 * load): a fixed base years back would fall behind the broker's retention,
 * which then deletes the input under a long run, and one in the future may
 * be refused by the broker's timestamp bound.
 *
 * The loader places every record itself, on partition murmur2(key) %
 * partitions (what the producer's default partitioner does with a key), so
 * that it knows which window closes where: a window closes when the stream
 * time of its partition (the largest timestamp read there) reaches its end
 * (grace 0), so the last windows of a partition never close. {@link
 * Layout#expected} is what a correct contender must write, every contender
 * the same.
 */
final class WindowInput {
    /** How many keys there are. */
    static final int KEYS = 1000;
    /** Event time between two consecutive runs of KEYS records. */
    static final long STEP_MS = 1000;
    /** The tumbling window's size; its grace is 0. */
    static final long WINDOW_MS = 10_000;

    private static final byte[] HEAD = "{\"seq\":000000000".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PADDING = ",\"pad\":\"".getBytes(StandardCharsets.US_ASCII);

    private WindowInput() {}

    private static final byte[][] KEY_BYTES = new byte[KEYS][];

    static {
        for (int k = 0; k < KEYS; k++) {
            KEY_BYTES[k] = String.format("k%03d", k).getBytes(StandardCharsets.US_ASCII);
        }
    }

    /** The key of record index, k000 … k999 (one shared array per key; nothing writes to it). */
    static byte[] key(long index) {
        return KEY_BYTES[(int) (index % KEYS)];
    }

    /** The smallest value size a record fits in. */
    static int minSize() {
        return HEAD.length + 1;
    }

    /** A small JSON object, {"seq":I} padded to exactly size bytes; nobody reads it. */
    static byte[] value(long index, int size) {
        if (size < minSize()) {
            throw new Args.UsageException("--size must be at least " + minSize() + " bytes (one record)");
        }
        byte[] value = Arrays.copyOf(HEAD, size);
        Orders.digits(value, HEAD.length - 9, 9, index);
        int at = HEAD.length;
        int padding = size - at - PADDING.length - 2; // the padding's closing quote and the brace
        if (padding >= 0) {
            System.arraycopy(PADDING, 0, value, at, PADDING.length);
            at += PADDING.length;
            Arrays.fill(value, at, at + padding, (byte) 'x');
            at += padding;
            value[at++] = '"';
        } else {
            Arrays.fill(value, at, size - 1, (byte) ' ');
            at = size - 1;
        }
        value[at] = '}';
        return value;
    }

    /** What a correct contender writes: closed windows, and the input records they count together. */
    record Expected(long windows, long records) {}

    /** Where and when each of records records goes, over partitions partitions. */
    static Layout layout(long records, int partitions, long nowMillis) {
        long lastStep = Math.max(0, records - 1) / KEYS;
        long base = (nowMillis - WINDOW_MS - lastStep * STEP_MS) / WINDOW_MS * WINDOW_MS;
        int[] partitionOf = new int[KEYS];
        for (int k = 0; k < KEYS; k++) {
            partitionOf[k] = Utils.toPositive(Utils.murmur2(key(k))) % partitions;
        }
        return new Layout(records, base, partitionOf, partitions);
    }

    /** The placement of one load: every record's partition and timestamp. */
    record Layout(long records, long base, int[] partitionOf, int partitions) {
        int partition(long index) {
            return partitionOf[(int) (index % KEYS)];
        }

        long timestamp(long index) {
            return base + index / KEYS * STEP_MS;
        }

        /**
         * The windows that close (end <= the largest timestamp of their key's
         * partition) and how many records fall in them: the output count and
         * the sum of the counts a correct contender writes.
         */
        Expected expected() {
            long[] streamTime = new long[partitions];
            Arrays.fill(streamTime, Long.MIN_VALUE);
            for (long i = 0; i < records; i++) {
                streamTime[partition(i)] = Math.max(streamTime[partition(i)], timestamp(i));
            }
            long[] lastStart = new long[KEYS];
            Arrays.fill(lastStart, Long.MIN_VALUE);
            long windows = 0;
            long counted = 0;
            for (long i = 0; i < records; i++) {
                long start = Math.floorDiv(timestamp(i), WINDOW_MS) * WINDOW_MS;
                if (start + WINDOW_MS > streamTime[partition(i)]) {
                    continue;
                }
                counted++;
                int k = (int) (i % KEYS);
                if (lastStart[k] != start) {
                    lastStart[k] = start;
                    windows++;
                }
            }
            return new Expected(windows, counted);
        }
    }
}
