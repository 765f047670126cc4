package eoshost.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Kafka Streams join contender: each order of --input joined with its
 * customer from --table, a compacted topic read as a GlobalKTable (every
 * instance holds the whole table, as eoshost's `--table` does), under
 * exactly_once_v2 (the settings are {@link StreamsApp}'s):
 *
 *     stream(input).join(globalTable(table), (id, order) -> customerIdOf(order),
 *                        (order, customer) -> withCustomer(order, customer)).to(output)
 *
 * The output is what `lookup.wasm` writes: the order with the field
 * "customer" appended, whose value is the customer's JSON. The store is
 * Kafka Streams' default (RocksDB, in the state directory), filled from the
 * table topic at start like eoshost's table.
 *
 * Both functions work on the bytes, without a JSON parser: customerIdOf finds
 * the text of "customer_id":"…" and withCustomer replaces the order's closing
 * brace with ,"customer":VALUE}. That is enough for the loader's orders (one
 * customer_id, no escapes, the brace last) and cheaper than parsing, which
 * eoshost's lookup does: the comparison leans towards Kafka Streams.
 *
 * Every order's customer is in the table, so an inner join writes one output
 * per order; an order whose customer were missing would be dropped (lookup
 * writes it with "customer":null), and the counter would never reach the
 * input count. How long the table took to load is logged by StreamsApp.
 */
final class GlobalJoin {
    private GlobalJoin() {}

    private static final byte[] CUSTOMER_ID = "\"customer_id\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CUSTOMER = ",\"customer\":".getBytes(StandardCharsets.US_ASCII);

    static void run(Args args) throws Exception {
        String table = args.get("table");
        StreamsBuilder builder = new StreamsBuilder();
        GlobalKTable<byte[], byte[]> customers =
                builder.globalTable(table, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()));
        builder.stream(args.get("input"), Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
                .join(customers, (orderId, order) -> customerIdOf(order), GlobalJoin::withCustomer)
                .to(args.get("output"), Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
        StreamsApp.run(args, builder);
    }

    /** The bytes of the order's "customer_id" string, or null (the order is then dropped). */
    static byte[] customerIdOf(byte[] order) {
        int at = indexOf(order, CUSTOMER_ID);
        if (at < 0) {
            return null;
        }
        int start = at + CUSTOMER_ID.length;
        int end = start;
        while (end < order.length && order[end] != '"') {
            end++;
        }
        return Arrays.copyOfRange(order, start, end);
    }

    /** The order with ,"customer":CUSTOMER before its closing brace. */
    static byte[] withCustomer(byte[] order, byte[] customer) {
        int brace = order.length - 1;
        while (brace > 0 && order[brace] != '}') {
            brace--;
        }
        byte[] joined = new byte[brace + CUSTOMER.length + customer.length + 1];
        System.arraycopy(order, 0, joined, 0, brace);
        System.arraycopy(CUSTOMER, 0, joined, brace, CUSTOMER.length);
        System.arraycopy(customer, 0, joined, brace + CUSTOMER.length, customer.length);
        joined[joined.length - 1] = '}';
        return joined;
    }

    private static int indexOf(byte[] bytes, byte[] pattern) {
        outer:
        for (int i = 0; i + pattern.length <= bytes.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (bytes[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
