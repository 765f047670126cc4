package eoshost.bench;

import java.util.Arrays;

/**
 * Entry point of the bench jar: one subcommand per role, so that scripts/bench
 * starts each contender as its own process (its CPU is read from /proc) and the
 * tools that feed and count them from the same jar.
 */
public final class Main {
    private Main() {}

    private static final String USAGE = String.join("\n",
            "usage: java -jar eoshost-bench.jar COMMAND [--option value]...",
            "contenders (run until SIGTERM):",
            "  kstreams       Kafka Streams exactly_once_v2, mapValues identity (--threads N)",
            "  kstreams-join  the same, each order joined with its customer from --table (a GlobalKTable)",
            "  kstreams-windows  the same, a count per key in 10 s windows, final results only (suppress)",
            "  kstreams-avro  the same, Avro values (GenericRecord) through Apicurio's serde, mapValues identity",
            "                 (--schema-registry URL: the registry's Confluent-compatible API)",
            "  eos-processor  the guide's exactly-once processor: one transaction per poll()",
            "  alo-copy       at-least-once consume -> produce, offsets committed every --commit-ms",
            "tools:",
            "  load           write --records orders of --size bytes (or --rate R for --seconds S);",
            "                 --data customers: the join's table instead (keys c00000..c99999);",
            "                 --data windows: 1,000 keys, 1 s of event time per 1,000 records",
            "                 (--expect-file F: the windows and count sum a correct count writes)",
            "                 --data sink-orders: updates of 100,000 orders, the five columns of the sink case",
            "                 (--expect-file F: the rows, amount sum and digest a correct sink leaves)",
            "                 --data avro-orders: 1 KiB orders in the Confluent wire format, the schema",
            "                 registered in --schema-registry URL (--expect-file F: their checksums' sum)",
            "  count          count a topic back with read_committed; rate, CPU/record, latency;",
            "                 with --expect-checksum-sum S, the Avro orders' checksums checked too;",
            "                 with --input-topic, timed by --group's committed input offsets instead;",
            "                 with --sink-table, a sink into PostgreSQL: its table made afresh, then checked",
            "  count-serve    the same for one job per stdin line (the options of one count)",
            "  admin          create TOPIC:PARTITIONS... [--topic-config K=V,...] | delete-prefix PREFIX");

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.println(USAGE);
            System.exit(2);
        }
        Args args = new Args(Arrays.copyOfRange(argv, 1, argv.length));
        try {
            switch (argv[0]) {
                case "kstreams" -> StreamsMap.run(args);
                case "kstreams-join" -> GlobalJoin.run(args);
                case "kstreams-windows" -> StreamsWindowCount.run(args);
                case "kstreams-avro" -> StreamsAvroMap.run(args);
                case "eos-processor" -> GuideProcessor.run(args);
                case "alo-copy" -> AtLeastOnceCopy.run(args);
                case "load" -> Loader.run(args);
                case "count" -> System.exit(Counter.run(args));
                case "count-serve" -> System.exit(Counter.serve(args));
                case "admin" -> TopicAdmin.run(args);
                default -> {
                    System.err.println("unknown command '" + argv[0] + "'\n" + USAGE);
                    System.exit(2);
                }
            }
        } catch (Args.UsageException e) {
            System.err.println(argv[0] + ": " + e.getMessage() + "\n" + USAGE);
            System.exit(2);
        }
    }
}
