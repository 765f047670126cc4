package eoshost.bench;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Kafka Streams contender: input → mapValues(identity) → output under
 * exactly_once_v2 (the settings are {@link StreamsApp}'s).
 */
final class StreamsMap {
    private StreamsMap() {}

    static void run(Args args) throws Exception {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(args.get("input"), Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
                .mapValues(value -> value)
                .to(args.get("output"), Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
        StreamsApp.run(args, builder);
    }
}
