package eoshost.bench;

import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;

/**
 * The Kafka Streams windows contender: a count per key in tumbling windows
 * of 10 s (grace 0), one final result per key and window, under
 * exactly_once_v2 (the settings are {@link StreamsApp}'s):
 *
 *     stream(input).groupByKey()
 *         .windowedBy(TimeWindows.ofSizeAndGrace(10 s, 0)).count()
 *         .suppress(Suppressed.untilWindowCloses(unbounded()))
 *         .toStream().map((window, count) -> (window.key(), json)).to(output)
 *
 * The output is what eoshost's `window-count.wasm` writes: key K, value
 * {"key":"K","start":S,"end":E,"count":N} (milliseconds since the epoch).
 * The store and the suppression buffer are Kafka Streams' defaults (RocksDB
 * in the state directory, an in-memory buffer), each with its changelog
 * topic; the record cache is on, at its default size. A window is written
 * when the stream time of its task (one input partition) reaches its end,
 * as eoshost's is when its partition's does. The output's timestamp is
 * Kafka Streams' own (the window's last record's), not eoshost's end − 1:
 * nothing reads it.
 */
final class StreamsWindowCount {
    private StreamsWindowCount() {}

    static void run(Args args) throws Exception {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(args.get("input"), Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .groupByKey(Grouped.with(Serdes.String(), Serdes.ByteArray()))
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(WindowInput.WINDOW_MS), Duration.ZERO))
                .count()
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .map((window, count) -> KeyValue.pair(window.key(), json(window, count)))
                .to(args.get("output"), Produced.with(Serdes.String(), Serdes.String()));
        StreamsApp.run(args, builder);
    }

    /** The window's result as compact JSON; the loader's keys (k000 … k999) need no escaping. */
    static String json(Windowed<String> window, long count) {
        return "{\"key\":\"" + window.key() + "\",\"start\":" + window.window().start() + ",\"end\":"
                + window.window().end() + ",\"count\":" + count + "}";
    }
}
