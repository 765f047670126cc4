package eoshost.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * The input of the avro case (`load --data avro-orders`): orders as a shop's
 * checkout would write them with Confluent's Avro serializer, in the
 * Confluent wire format (magic byte 0, the schema's 4-byte id, the Avro
 * binary). The schema ({@link #SCHEMA}) has what order schemas have:
 * strings, longs, an int, a double, a nullable string, an enum, a nested
 * record, an array of records, a map and a timestamp-millis; it is
 * registered under the input topic's subject (`TOPIC-value`) through the
 * registry's Confluent-compatible API, and the records framed here with the
 * id it answers, so the framing does not depend on any serde's settings.
 * Before the first record is written, one record is decoded back with the
 * schema the registry serves for that id ({@link Framing#verify}).
 *
 * Each order has 7 to 11 line items; its notes (delivery instructions, at
 * least 64 characters) are as long as it takes to make the value exactly
 * the requested size. The key is the order id, as in {@link Orders}.
 *
 * The attributes map is built in a HashMap of the size Avro's
 * GenericDatumReader makes when it reads one, so that a Java consumer that
 * decodes a record and writes it again writes the map in the same order:
 * identity through any contender gives back the same bytes, which lets the
 * counter check every output against the input ({@link #checksum}).
 */
final class AvroOrders {
    /** The Confluent wire format's header: the magic byte and the schema id. */
    static final int HEADER = 5;

    static final String SCHEMA_TEXT = """
            {"type": "record", "name": "Order", "namespace": "eoshost.bench.avro",
             "doc": "An order as a shop's checkout writes it.",
             "fields": [
              {"name": "order_id", "type": "string"},
              {"name": "customer_id", "type": "string"},
              {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
              {"name": "status", "type": {"type": "enum", "name": "OrderStatus",
                "symbols": ["PENDING", "PAID", "PACKED", "SHIPPED", "DELIVERED", "CANCELLED"]}},
              {"name": "currency", "type": "string"},
              {"name": "total_cents", "type": "long"},
              {"name": "tax_rate", "type": "double"},
              {"name": "coupon_code", "type": ["null", "string"], "default": null},
              {"name": "shipping_address", "type": {"type": "record", "name": "Address", "fields": [
                {"name": "name", "type": "string"},
                {"name": "street", "type": "string"},
                {"name": "city", "type": "string"},
                {"name": "postal_code", "type": "string"},
                {"name": "country", "type": "string"}]}},
              {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "LineItem",
                "fields": [
                  {"name": "sku", "type": "string"},
                  {"name": "title", "type": "string"},
                  {"name": "quantity", "type": "int"},
                  {"name": "unit_price_cents", "type": "long"}]}}},
              {"name": "attributes", "type": {"type": "map", "values": "string"}},
              {"name": "notes", "type": "string"}
             ]}
            """;
    static final Schema SCHEMA = new Schema.Parser().parse(SCHEMA_TEXT);
    private static final Schema ADDRESS = SCHEMA.getField("shipping_address").schema();
    private static final Schema ITEM = SCHEMA.getField("items").schema().getElementType();
    private static final Schema STATUS = SCHEMA.getField("status").schema();

    /** created_at of order 0: 2026-12-07T00:00:00Z; 37 ms between orders. */
    private static final long BASE_MILLIS = Instant.parse("2026-12-07T00:00:00Z").toEpochMilli();
    private static final int MIN_NOTES = 64;
    private static final String[] NAMES = {"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra",
        "Barbara Liskov", "Donald Knuth", "Frances Allen", "Tony Hoare"};
    private static final String[] STREETS = {"Friedrichstrasse 123", "Rue de Rivoli 45", "Calle de Alcala 250",
        "Via del Corso 18", "Kungsgatan 7", "Prinsengracht 263"};
    private static final String[] CITIES = {"Berlin", "Paris", "Madrid", "Rome", "Stockholm", "Amsterdam"};
    private static final String[] COUNTRIES = {"DE", "FR", "ES", "IT", "SE", "NL"};
    private static final String[] CURRENCIES = {"EUR", "EUR", "EUR", "EUR", "SEK", "EUR"};
    private static final double[] TAX_RATES = {0.19, 0.20, 0.21, 0.22, 0.25, 0.21};
    private static final String[] TITLES = {
        "Stainless steel water bottle, 750 ml, matte black",
        "Organic cotton t-shirt, crew neck, size M, navy",
        "Wireless noise-cancelling headphones, over-ear",
        "Cast iron skillet, 26 cm, pre-seasoned",
        "Hardcover notebook, A5, dotted, 240 pages",
        "USB-C charging cable, braided, 2 m",
        "Ceramic pour-over coffee dripper, size 02",
        "Merino wool hiking socks, pack of three",
        "LED desk lamp with dimmer and USB port",
        "Bamboo cutting board set, three sizes",
    };
    private static final String[] CHANNELS = {"web", "ios-app", "android-app", "store"};
    private static final String[] LOCALES = {"de-DE", "fr-FR", "es-ES", "it-IT", "sv-SE", "nl-NL"};
    private static final String[] CAMPAIGNS = {"winter-sale-2026", "newsletter-w49", "retargeting-cart",
        "organic"};
    private static final String NOTES = ("Please leave the parcel with the neighbour at number 12 if nobody "
            + "answers; the side gate is open until 6 pm and the bell of the ground floor flat does not work. "
            + "Call ahead for a delivery after 7 pm, and do not leave anything at the front door, which faces "
            + "the street. Gift wrap the books separately, no invoice in the parcel, the invoice goes by email "
            + "to the billing address. Fragile: the ceramic dripper travels in its own box with padding on all "
            + "sides. Deliver on weekdays only; on Fridays before noon. ").repeat(4);

    private AvroOrders() {}

    /** Order index, its notes empty: the fields that do not depend on the value's size. */
    static GenericRecord order(long index) {
        int place = (int) (index % CITIES.length);
        GenericRecord address = new GenericData.Record(ADDRESS);
        address.put("name", NAMES[(int) (index % NAMES.length)]);
        address.put("street", STREETS[place]);
        address.put("city", CITIES[place]);
        address.put("postal_code", digits(10_000 + index * 7 % 89_999, 5));
        address.put("country", COUNTRIES[place]);

        int count = 7 + (int) (index % 5);
        List<GenericRecord> items = new ArrayList<>(count);
        long total = 0;
        for (int j = 0; j < count; j++) {
            GenericRecord item = new GenericData.Record(ITEM);
            long product = (index * 31 + j * 17) % 100_000;
            int quantity = 1 + (int) ((index + j) % 4);
            long price = 199 + product % 19_800;
            item.put("sku", "SKU-" + digits(product, 8));
            item.put("title", TITLES[(int) (product % TITLES.length)]);
            item.put("quantity", quantity);
            item.put("unit_price_cents", price);
            items.add(item);
            total += quantity * price;
        }

        // Sized as GenericDatumReader sizes the map it reads (see the class comment).
        Map<String, String> attributes = new HashMap<>(5);
        attributes.put("channel", CHANNELS[(int) (index % CHANNELS.length)]);
        attributes.put("locale", LOCALES[place]);
        attributes.put("campaign", CAMPAIGNS[(int) (index / 3 % CAMPAIGNS.length)]);
        attributes.put("session_id", "s-" + digits(index * 2_654_435_761L % 1_000_000_000_000L, 12));
        attributes.put("checkout_version", "2026.11." + index % 7);

        GenericRecord order = new GenericData.Record(SCHEMA);
        order.put("order_id", new String(Orders.key(index), StandardCharsets.US_ASCII));
        order.put("customer_id", new String(Customers.key(Customers.ofOrder(index)), StandardCharsets.US_ASCII));
        order.put("created_at", BASE_MILLIS + index * 37);
        order.put("status", new GenericData.EnumSymbol(STATUS, STATUS.getEnumSymbols().get((int) (index / 7 % 6))));
        order.put("currency", CURRENCIES[place]);
        order.put("total_cents", total);
        order.put("tax_rate", TAX_RATES[place]);
        order.put("coupon_code", index % 4 == 0 ? "SAVE10-" + (index % 1000) : null);
        order.put("shipping_address", address);
        order.put("items", items);
        order.put("attributes", attributes);
        order.put("notes", "");
        return order;
    }

    /** value as exactly width decimal digits. */
    private static String digits(long value, int width) {
        byte[] text = new byte[width];
        Orders.digits(text, 0, width, value);
        return new String(text, StandardCharsets.US_ASCII);
    }

    /** The smallest value size every order fits in: the largest order, its header and the shortest notes. */
    static int minSize() {
        Framing framing = new Framing(0);
        int largest = 0;
        // Orders 0 … 119 take every combination of item count (period 5), coupon (4), place (6) and name
        // (8); the others differ from them by a byte or two of numbers, and value() says if one does not fit.
        for (long i = 0; i < 120; i++) {
            largest = Math.max(largest, framing.encode(order(i)).length - 1);
        }
        return HEADER + largest + 2 + MIN_NOTES;
    }

    /** The checksum the counter sums over an output: CRC-32 of the Avro binary after the header. */
    static long checksum(byte[] value) {
        CRC32 crc = new CRC32();
        crc.update(value, HEADER, value.length - HEADER);
        return crc.getValue();
    }

    /** The schema id of a value in the wire format; -1 if it is not in it. */
    static int schemaId(byte[] value) {
        return value.length >= HEADER && value[0] == 0 ? ByteBuffer.wrap(value, 1, 4).getInt() : -1;
    }

    /** Frames orders with one schema id. Not thread-safe: one per loader. */
    static final class Framing {
        private final int schemaId;
        private final GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(SCHEMA);
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
        private BinaryEncoder encoder;

        Framing(int schemaId) {
            this.schemaId = schemaId;
        }

        /** Order index as exactly size bytes in the wire format. */
        byte[] value(long index, int size) {
            GenericRecord order = order(index);
            // What the notes and their length take: the length a zigzag varint,
            // 2 bytes for 64 to 8191 characters.
            int room = size - HEADER - (encode(order).length - 1);
            int notes = room - 2;
            if (notes < MIN_NOTES || notes >= 8192) {
                throw new Args.UsageException("--size must be between " + minSize() + " and 8192 bytes (one Avro "
                        + "order), not " + size);
            }
            int from = (int) (index % 97);
            order.put("notes", NOTES.substring(from, from + notes));
            byte[] body = encode(order);
            byte[] value = new byte[HEADER + body.length];
            value[0] = 0;
            ByteBuffer.wrap(value, 1, 4).putInt(schemaId);
            System.arraycopy(body, 0, value, HEADER, body.length);
            if (value.length != size) {
                throw new IllegalStateException("order " + index + " framed to " + value.length + " bytes, not "
                        + size);
            }
            return value;
        }

        byte[] encode(GenericRecord order) {
            out.reset();
            encoder = EncoderFactory.get().binaryEncoder(out, encoder);
            try {
                writer.write(order, encoder);
                encoder.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return out.toByteArray();
        }

        /**
         * Decodes order 0 framed at size with the schema the registry serves
         * for this framing's id, and fails unless it is the order itself.
         */
        void verify(SchemaRegistry registry, int size) throws Exception {
            byte[] value = value(0, size);
            Schema served = new Schema.Parser().parse(registry.schemaById(schemaId(value)));
            if (!served.equals(SCHEMA)) {
                throw new IllegalStateException("the registry serves another schema for id " + schemaId + ": "
                        + served);
            }
            GenericRecord decoded = new GenericDatumReader<GenericRecord>(served).read(null,
                    DecoderFactory.get().binaryDecoder(value, HEADER, value.length - HEADER, null));
            GenericRecord expected = order(0);
            expected.put("notes", String.valueOf(decoded.get("notes")));
            // Avro reads strings as Utf8, which prints as the String it holds.
            if (!decoded.toString().equals(expected.toString())) {
                throw new IllegalStateException("a framed order does not decode to itself with the schema of id "
                        + schemaId + ": " + decoded + " against " + expected);
            }
        }
    }

    /** The few calls of a Confluent-compatible Schema Registry API the loader makes. */
    static final class SchemaRegistry {
        private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
        private static final ObjectMapper JSON = new ObjectMapper();
        private final String url;
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

        /** url: the base URL Confluent clients take, e.g. http://127.0.0.1:58081/apis/ccompat/v7. */
        SchemaRegistry(String url) {
            this.url = url.replaceAll("/+$", "");
        }

        /** Registers schema under subject (or finds it there) and returns its id. */
        int register(String subject, String schema) throws Exception {
            String body = JSON.writeValueAsString(Map.of("schema", schema));
            JsonNode answer = call(HttpRequest.newBuilder(URI.create(url + "/subjects/"
                    + URLEncoder.encode(subject, StandardCharsets.UTF_8) + "/versions"))
                    .header("Content-Type", CONTENT_TYPE).POST(HttpRequest.BodyPublishers.ofString(body)));
            return answer.get("id").asInt();
        }

        /** The text of the schema of id. */
        String schemaById(int id) throws Exception {
            return call(HttpRequest.newBuilder(URI.create(url + "/schemas/ids/" + id)).GET()).get("schema")
                    .asText();
        }

        private JsonNode call(HttpRequest.Builder request) throws Exception {
            HttpRequest built = request.header("Accept", CONTENT_TYPE).timeout(Duration.ofSeconds(30)).build();
            HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new IOException(built.method() + " " + built.uri() + ": HTTP " + response.statusCode() + ": "
                        + response.body());
            }
            return JSON.readTree(response.body());
        }
    }
}
