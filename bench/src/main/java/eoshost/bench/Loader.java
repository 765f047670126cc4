package eoshost.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;

/**
 * Writes the orders (see {@link Orders}) every contender reads, with
 * --data customers the join case's table (see {@link Customers}), with
 * --data windows the windows case's keyed, timestamped input (see {@link
 * WindowInput}), or with --data sink-orders the sink case's updates of
 * orders (see {@link SinkOrders}; --expect-file gets the table a correct
 * sink ends with), or with --data avro-orders the avro case's orders in the
 * Confluent wire format (see {@link AvroOrders}; the schema registered in
 * --schema-registry first, --expect-file gets the sum of the values'
 * checksums). Two modes: preload (--records N, as fast as the broker takes
 * them, before a contender starts) and paced (--rate R for --warmup-seconds W
 * and then --seconds S, while a contender runs, for the latency figures;
 * orders and customers only). A record's timestamp is set by the producer
 * when it is sent, except for the windows input, whose partition and
 * timestamp the loader sets itself and whose expected output (closed windows,
 * the records they count) it writes to --expect-file as outputs=N and sum=M;
 * in paced mode the wall-clock time at which the measured part starts is
 * written to --mark-file.
 */
final class Loader {
    private Loader() {}

    /** The value of record index, of exactly size bytes. */
    private interface Values {
        byte[] of(long index, int size);
    }

    /**
     * What load can write: its records' keys and values, the least value size
     * they fit in, whether the loader places them itself (partition and
     * event time, the windows input) or leaves that to the producer, and
     * whether it sums their checksums for the counter (the Avro orders).
     */
    private record Data(String noun, LongFunction<byte[]> keys, Values values, int minSize, boolean placed,
            boolean checksummed) {
        static Data named(String name, Args args) throws Exception {
            return switch (name) {
                case "orders" -> new Data("order", Orders::key, Orders::value, Orders.minSize(), false, false);
                case "customers" ->
                        new Data("customer", Customers::key, Customers::value, Customers.minSize(), false, false);
                case "windows" ->
                        new Data("record", WindowInput::key, WindowInput::value, WindowInput.minSize(), true, false);
                case "sink-orders" ->
                        new Data("order row", SinkOrders::key, SinkOrders::value, SinkOrders.minSize(), false, false);
                case "avro-orders" -> {
                    AvroOrders.Framing framing = registerAvro(args);
                    yield new Data("Avro order", Orders::key, framing::value, AvroOrders.minSize(), false, true);
                }
                default -> throw new Args.UsageException(
                        "--data is orders, customers, windows, sink-orders or avro-orders, not '" + name + "'");
            };
        }
    }

    /**
     * Registers the Avro orders' schema under TOPIC-value in --schema-registry
     * (a Confluent-compatible API), and checks once that an order framed with
     * the id it answers decodes with the schema the registry serves for it.
     */
    private static AvroOrders.Framing registerAvro(Args args) throws Exception {
        var registry = new AvroOrders.SchemaRegistry(args.get("schema-registry"));
        String subject = args.get("topic") + "-value";
        int id = registry.register(subject, AvroOrders.SCHEMA.toString());
        var framing = new AvroOrders.Framing(id);
        framing.verify(registry, (int) args.getLong("size"));
        System.err.printf("load: the orders' schema is id %d under %s; an order framed with it decodes with the "
                + "schema the registry serves%n", id, subject);
        return framing;
    }

    static void run(Args args) throws Exception {
        String topic = args.get("topic");
        int size = (int) args.getLong("size");
        Data data = Data.named(args.get("data", "orders"), args);
        if (size < data.minSize()) {
            throw new Args.UsageException("--size must be at least " + data.minSize() + " bytes (one " + data.noun() + ")");
        }
        var config = Clients.producer(args.get("bootstrap"));
        AtomicReference<Exception> failure = new AtomicReference<>();
        long started = System.nanoTime();
        long sent;
        if (args.get("rate", null) == null) {
            config.put(ProducerConfig.LINGER_MS_CONFIG, 20);
            config.put(ProducerConfig.BATCH_SIZE_CONFIG, 262_144);
            try (var producer = new KafkaProducer<byte[], byte[]>(config)) {
                sent = args.getLong("records");
                WindowInput.Layout layout = data.placed()
                        ? WindowInput.layout(sent, producer.partitionsFor(topic).size(), System.currentTimeMillis())
                        : null;
                long checksums = 0;
                for (long i = 0; i < sent && failure.get() == null; i++) {
                    byte[] key = data.keys().apply(i);
                    byte[] value = data.values().of(i, size);
                    if (data.checksummed()) {
                        checksums += AvroOrders.checksum(value);
                    }
                    var record = layout == null ? new ProducerRecord<>(topic, key, value)
                            : new ProducerRecord<>(topic, layout.partition(i), layout.timestamp(i), key, value);
                    producer.send(record, (metadata, error) -> failure.compareAndSet(null, error));
                }
                producer.flush();
                if (layout != null && failure.get() == null) {
                    expect(args, layout);
                }
                if (data.noun().equals("order row") && failure.get() == null) {
                    expectRows(args, sent, size);
                }
                if (data.checksummed() && failure.get() == null) {
                    expectChecksums(args, checksums);
                }
            }
        } else if (data.placed()) {
            throw new Args.UsageException("--data windows is preloaded only (--records), not paced");
        } else {
            sent = paced(args, config, topic, size, data, failure);
        }
        if (failure.get() != null) {
            System.err.println("load: a record was not written to " + topic + ": " + failure.get());
            System.exit(1);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.err.printf("load: %d records of %d B into %s in %.1f s%n", sent, size, topic, seconds);
    }

    /** Says what a correct windowed count of this input writes, and writes it to --expect-file. */
    private static void expect(Args args, WindowInput.Layout layout) throws java.io.IOException {
        WindowInput.Expected expected = layout.expected();
        System.err.printf("load: %d keys over %d partitions, timestamps from %d, one second per %d records: "
                + "%d windows of %d ms close, counting %d records%n", WindowInput.KEYS, layout.partitions(),
                layout.base(), WindowInput.KEYS, expected.windows(), WindowInput.WINDOW_MS, expected.records());
        String file = args.get("expect-file", null);
        if (file != null) {
            Files.writeString(Path.of(file), "outputs=" + expected.windows() + "\nsum=" + expected.records() + "\n");
        }
    }

    /** Says what the sink case's table holds after a correct sink, and writes it to --expect-file. */
    private static void expectRows(Args args, long records, int size) throws Exception {
        SinkOrders.Expected expected = SinkOrders.expected(records, size);
        System.err.printf("load: %d updates of %d orders: a correct sink ends with %d rows, amount_cents summing to "
                + "%d, digest %s%n", records, Math.min(records, SinkOrders.KEYS), expected.rows(),
                expected.amountSum(), expected.digest());
        String file = args.get("expect-file", null);
        if (file != null) {
            SinkOrders.writeExpected(Path.of(file), expected);
        }
    }

    /** Writes the sum of the values' checksums ({@link AvroOrders#checksum}) to --expect-file. */
    private static void expectChecksums(Args args, long checksums) throws java.io.IOException {
        String file = args.get("expect-file", null);
        if (file != null) {
            Files.writeString(Path.of(file), "checksum_sum=" + checksums + "\n");
        }
    }

    private static long paced(Args args, java.util.Properties config, String topic, int size, Data data,
            AtomicReference<Exception> failure) throws Exception {
        long rate = args.getLong("rate");
        long warmup = rate * args.getLong("warmup-seconds", 3);
        long total = warmup + rate * args.getLong("seconds");
        Path mark = Path.of(args.get("mark-file"));
        String group = args.get("await-group", null);
        if (group != null) {
            awaitAssigned(args.get("bootstrap"), group, topic, (int) args.getLong("partitions"));
        }
        try (var producer = new KafkaProducer<byte[], byte[]>(config)) {
            long start = System.nanoTime();
            for (long i = 0; i < total && failure.get() == null; i++) {
                if (i == warmup) {
                    Files.writeString(mark, Long.toString(System.currentTimeMillis()));
                }
                long due = start + i * 1_000_000_000L / rate;
                long early = due - System.nanoTime();
                if (early > 0) {
                    LockSupport.parkNanos(early);
                }
                producer.send(new ProducerRecord<>(topic, data.keys().apply(i), data.values().of(i, size)),
                        (metadata, error) -> failure.compareAndSet(null, error));
            }
            producer.flush();
            long behind = (System.nanoTime() - start) / 1_000_000 - total * 1000 / rate;
            if (behind > 500) {
                System.err.printf("load: fell %d ms behind the rate of %d records/s%n", behind, rate);
            }
        }
        return total;
    }

    /**
     * Waits until the contender's group is stable with every partition of the
     * topic assigned, so that the paced records do not wait for it to start.
     * Gives up after 60 s with a warning (the warm-up records then absorb it).
     */
    private static void awaitAssigned(String bootstrap, String group, String topic, int partitions) {
        var config = new java.util.Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (Admin admin = Admin.create(config)) {
            while (System.nanoTime() < deadline) {
                try {
                    ConsumerGroupDescription description = admin.describeConsumerGroups(java.util.List.of(group))
                            .describedGroups().get(group).get(5, TimeUnit.SECONDS);
                    long assigned = description.members().stream()
                            .flatMap(member -> member.assignment().topicPartitions().stream())
                            .filter(partition -> partition.topic().equals(topic)).count();
                    if (description.groupState() == GroupState.STABLE && assigned == partitions) {
                        return;
                    }
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    // Not there yet (or not a consumer group); ask again.
                }
                Thread.sleep(200);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.err.println("load: group " + group + " did not get all " + partitions
                + " partitions within 60 s; producing anyway");
    }
}
