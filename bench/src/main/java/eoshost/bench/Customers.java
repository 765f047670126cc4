package eoshost.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The table of the join case: {@link #COUNT} customers, keyed by the
 * customer id the orders carry (c00000 … c99999), each value a JSON object
 * padded to exactly the requested size with a "padding" field. Written once
 * into a compacted topic (`load --data customers`), read whole by eoshost's
 * `--table` and by Kafka Streams' GlobalKTable.
 */
final class Customers {
    /** How many customers there are; every order's customer is one of them. */
    static final int COUNT = 100_000;
    /** The digits of a customer id after its "c". */
    static final int ID_DIGITS = 5;

    private static final String[] TIERS = {"bronze", "silver", "gold", "platinum"};
    private static final String[] REGIONS = {"eu-west", "eu-north", "us-east", "us-west", "ap-south", "sa-east"};
    private static final byte[] PADDING = ",\"padding\":\"".getBytes(StandardCharsets.US_ASCII);
    // Coprime with COUNT, so that orders index, index + 1, … spread over the
    // whole table rather than walking it in key order.
    private static final long SCATTER = 48_271;

    private Customers() {}

    /** The customer of order index: every customer once in each COUNT consecutive orders. */
    static long ofOrder(long index) {
        return index % COUNT * SCATTER % COUNT;
    }

    static byte[] key(long customer) {
        byte[] key = new byte[1 + ID_DIGITS];
        key[0] = 'c';
        Orders.digits(key, 1, ID_DIGITS, customer);
        return key;
    }

    /** The fields without the padding and the closing brace. */
    private static byte[] head(long customer) {
        String id = new String(key(customer), StandardCharsets.US_ASCII);
        return ("{\"customer_id\":\"" + id + "\",\"name\":\"Customer " + id.substring(1) + "\",\"tier\":\""
                + TIERS[(int) (customer % TIERS.length)] + "\",\"region\":\""
                + REGIONS[(int) (customer % REGIONS.length)] + "\"").getBytes(StandardCharsets.US_ASCII);
    }

    /** A value size every customer fits in, padding field included. */
    static int minSize() {
        int tier = Arrays.stream(TIERS).mapToInt(String::length).max().orElse(0);
        int region = Arrays.stream(REGIONS).mapToInt(String::length).max().orElse(0);
        return head(0).length - TIERS[0].length() - REGIONS[0].length() + tier + region + PADDING.length + 2;
    }

    static byte[] value(long customer, int size) {
        byte[] head = head(customer);
        int padding = size - head.length - PADDING.length - 2; // the padding's closing quote and the brace
        if (padding < 0) {
            throw new Args.UsageException("--size must be at least " + minSize() + " bytes (every customer)");
        }
        byte[] value = Arrays.copyOf(head, size);
        int at = head.length;
        System.arraycopy(PADDING, 0, value, at, PADDING.length);
        at += PADDING.length;
        Arrays.fill(value, at, at + padding, (byte) 'x');
        at += padding;
        value[at++] = '"';
        value[at] = '}';
        return value;
    }
}
