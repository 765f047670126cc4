package eoshost.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The input every contender reads: valid orders as `enrich` expects them
 * (DESIGN §1.5), padded to exactly the requested value size with an extra
 * field (`enrich` drops extra fields) or, where no field fits, JSON
 * whitespace. Every number has a fixed width, so all orders have the same
 * length before padding. The key is the order id, so records spread over the
 * partitions. The customer id is one of the join case's {@link Customers}.
 */
final class Orders {
    private static final String[] COUNTRIES = {"DE", "US", "JP", "FR", "BR", "IN", "CA", "SE"};
    private static final byte[] NOTE = ",\"note\":\"".getBytes(StandardCharsets.US_ASCII);

    private Orders() {}

    static byte[] key(long index) {
        byte[] key = new byte[10];
        key[0] = 'o';
        digits(key, 1, 9, index);
        return key;
    }

    /** The order's fields without the closing brace. */
    private static byte[] head(long index) {
        byte[] head = TEMPLATE.clone();
        digits(head, ORDER_AT, 9, index);
        digits(head, CUSTOMER_AT, Customers.ID_DIGITS, Customers.ofOrder(index));
        byte[] country = COUNTRIES[(int) (index % COUNTRIES.length)].getBytes(StandardCharsets.US_ASCII);
        head[COUNTRY_AT] = country[0];
        head[COUNTRY_AT + 1] = country[1];
        digits(head, QUANTITY_AT, 1, 1 + index % 9);
        digits(head, PRICE_AT, 4, 1_000 + index % 9_000);
        return head;
    }

    // One template, its fixed-width fields overwritten per order: the loader
    // must outpace every contender, so no formatting per record.
    private static final byte[] TEMPLATE = ("{\"order_id\":\"o000000000\",\"customer_id\":\"c00000\",\"country\":\"XX\","
            + "\"quantity\":0,\"unit_price_cents\":0000").getBytes(StandardCharsets.US_ASCII);
    private static final int ORDER_AT = indexAfter("\"order_id\":\"o");
    private static final int CUSTOMER_AT = indexAfter("\"customer_id\":\"c");
    private static final int COUNTRY_AT = indexAfter("\"country\":\"");
    private static final int QUANTITY_AT = indexAfter("\"quantity\":");
    private static final int PRICE_AT = indexAfter("\"unit_price_cents\":");

    private static int indexAfter(String text) {
        String template = new String(TEMPLATE, StandardCharsets.US_ASCII);
        return template.indexOf(text) + text.length();
    }

    /** Writes value as exactly width decimal digits at bytes[at..]. */
    static void digits(byte[] bytes, int at, int width, long value) {
        for (int i = at + width - 1; i >= at; i--) {
            bytes[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
    }

    /** The smallest value size an order fits in. */
    static int minSize() {
        return head(0).length + 1;
    }

    static byte[] value(long index, int size) {
        byte[] head = head(index);
        if (size < head.length + 1) {
            throw new Args.UsageException("--size must be at least " + (head.length + 1) + " bytes (one order)");
        }
        byte[] value = Arrays.copyOf(head, size);
        int at = head.length;
        int padding = size - at - NOTE.length - 2; // the note's closing quote and the brace
        if (padding >= 0) {
            System.arraycopy(NOTE, 0, value, at, NOTE.length);
            at += NOTE.length;
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
}
