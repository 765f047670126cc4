package eoshost.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;

/**
 * The input of the sink case (`load --data sink-orders`): updates of
 * {@link #KEYS} orders (o000000 … o099999), record i an update of order
 * {@link #keyOf}(i), every order once in each KEYS consecutive records,
 * scattered so that neighbouring records update orders far apart in the
 * table. Each value is a JSON object of exactly the five columns of the
 * sink's table and nothing else (eoshost refuses a field with no column):
 *
 * <pre>
 * {"order_id":"o012345","customer_id":"c01234","amount_cents":12345,
 *  "status":"shipped: handed to carrier DHL Express, tracking JJD…",
 *  "updated_at":"2026-12-07T12:34:56.789Z"}
 * </pre>
 *
 * The status is a state and the note an order service keeps with it, whose
 * reference number is as long as it takes to make the value exactly the
 * requested size; every other field has a fixed width. updated_at grows by
 * 10 ms a record, so a later update of an order is also a newer one.
 *
 * A correct sink ends with one row per order, each the order's last
 * update: {@link #expected} says what that table holds (rows, the sum of
 * amount_cents, and an md5 over the rows in order_id order that
 * {@link SinkCount#TABLE_DIGEST} computes the same way in SQL).
 */
final class SinkOrders {
    /** How many orders the updates are spread over. */
    static final int KEYS = 100_000;
    /** updated_at of record 0: 2026-12-07T00:00:00.000Z. */
    private static final long BASE_MILLIS = Instant.parse("2026-12-07T00:00:00Z").toEpochMilli();
    private static final long STEP_MILLIS = 10;
    // Coprime with KEYS: records i, i + 1, … update orders spread over the table.
    private static final long SCATTER = 38_737;
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final String[] STATUS = {
        "placed: order received, awaiting payment by bank transfer, ref ",
        "paid: card payment captured by the payment provider, ref ",
        "packed: packed at warehouse FRA-3 and awaiting pickup, ref ",
        "shipped: handed to carrier DHL Express, tracking JJD",
        "delivered: delivered to parcel locker 1127, tracking JJD",
        "cancelled: cancelled by the customer before shipping, ref ",
    };

    private SinkOrders() {}

    /** The order record index updates. */
    static long keyOf(long index) {
        return index % KEYS * SCATTER % KEYS;
    }

    static byte[] key(long index) {
        return orderId(keyOf(index)).getBytes(StandardCharsets.US_ASCII);
    }

    private static String orderId(long order) {
        return String.format("o%06d", order);
    }

    /** One update's fields, as the table holds them. */
    record Row(String orderId, String customerId, long amountCents, String status, long updatedAtMillis) {
        String json() {
            return "{\"order_id\":\"" + orderId + "\",\"customer_id\":\"" + customerId + "\",\"amount_cents\":"
                    + amountCents + ",\"status\":\"" + status + "\",\"updated_at\":\""
                    + TIME.format(Instant.ofEpochMilli(updatedAtMillis)) + "\"}";
        }

        /** The row as {@link SinkCount#TABLE_DIGEST} writes it before hashing. */
        String digestLine() {
            return orderId + "|" + customerId + "|" + amountCents + "|" + status + "|" + updatedAtMillis;
        }
    }

    /** Update index as a row of exactly size bytes of JSON. */
    static Row row(long index, int size) {
        long order = keyOf(index);
        String prefix = STATUS[(int) (index % STATUS.length)];
        Row bare = new Row(orderId(order), String.format("c%05d", order * 7 % 100_000),
                10_000 + index * 7_919 % 90_000, prefix, BASE_MILLIS + index * STEP_MILLIS);
        int reference = size - bare.json().getBytes(StandardCharsets.US_ASCII).length;
        if (reference < 1) {
            throw new Args.UsageException("--size must be at least " + minSize() + " bytes (one order row)");
        }
        StringBuilder status = new StringBuilder(prefix);
        // The reference number's digits: the record's index, repeated as needed.
        String digits = Long.toString(1_000_000_007L + index * 104_729);
        while (status.length() < prefix.length() + reference) {
            status.append(digits);
        }
        status.setLength(prefix.length() + reference);
        return new Row(bare.orderId(), bare.customerId(), bare.amountCents(), status.toString(),
                bare.updatedAtMillis());
    }

    static byte[] value(long index, int size) {
        return row(index, size).json().getBytes(StandardCharsets.US_ASCII);
    }

    /** The smallest value size every row fits in. */
    static int minSize() {
        int longest = 0;
        for (int i = 0; i < STATUS.length; i++) {
            longest = Math.max(longest, new Row("o000000", "c00000", 10_000, STATUS[i], BASE_MILLIS).json().length());
        }
        return longest + 1;
    }

    /** What the table holds after a correct sink of records updates of size bytes. */
    record Expected(long rows, long amountSum, String digest) {}

    static Expected expected(long records, int size) throws Exception {
        // The last update of each order: one of the last KEYS records.
        long[] last = new long[KEYS];
        java.util.Arrays.fill(last, -1);
        for (long i = Math.max(0, records - KEYS); i < records; i++) {
            last[(int) keyOf(i)] = i;
        }
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        long rows = 0;
        long sum = 0;
        for (int order = 0; order < KEYS; order++) {
            if (last[order] < 0) {
                continue;
            }
            Row row = row(last[order], size);
            md5.update(((rows == 0 ? "" : ",") + row.digestLine()).getBytes(StandardCharsets.UTF_8));
            rows++;
            sum += row.amountCents();
        }
        return new Expected(rows, sum, HexFormat.of().formatHex(md5.digest()));
    }

    static void writeExpected(Path file, Expected expected) throws java.io.IOException {
        Files.writeString(file, "rows=" + expected.rows() + "\namount_sum=" + expected.amountSum() + "\ndigest="
                + expected.digest() + "\n");
    }
}
