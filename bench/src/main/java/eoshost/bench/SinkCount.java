package eoshost.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Counts a sink into PostgreSQL (the sink case: eoshost's sink, Kafka
 * Connect's JDBC sink) by what it has committed of its input, each where it
 * keeps it:
 *
 * - eoshost (--offsets postgres): the group's rows of eoshost_offsets, which
 *   it writes in the same database transaction as the rows they led to;
 * - Kafka Connect (--offsets kafka): the group's committed offsets in Kafka,
 *   which the worker commits every offset.flush.interval.ms for what the
 *   connector has flushed to the database (at-least-once: rows first).
 *
 * Before the run it creates the contender's table afresh (--sink-table, the
 * case's five columns, {@link #CREATE}); then, as {@link CommittedCount}:
 * records/s from the first moment the group has committed offsets to the
 * moment they reach the input's end (asked every 50 ms), what was committed
 * at the first moment not counted; CPU per record of the contender, the
 * broker, and PostgreSQL (--postgres-pid-file, the postmaster: the server
 * and all of its backends, {@link ProcCpu#treeTicks}) read at the same two
 * moments. Once the input is committed, the table is checked against
 * --expect-file (the loader's {@link SinkOrders#expected}): as many rows, the
 * same sum of amount_cents, the same digest of every row ({@link
 * #TABLE_DIGEST}); a run whose table differs has status "wrong: …" and does
 * not count. A run cut off by --max-seconds is not checked. Afterwards it
 * drops the table, its dead-letter table and the group's offset rows.
 */
final class SinkCount {
    private SinkCount() {}

    private static final long ASK_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** The case's table: the same shape for every contender. */
    static final String CREATE = "CREATE TABLE %s (order_id text PRIMARY KEY, customer_id text NOT NULL, "
            + "amount_cents bigint NOT NULL, status text NOT NULL, updated_at timestamptz NOT NULL)";

    /**
     * Rows, the sum of amount_cents and an md5 over every row in order_id
     * order, as {@link SinkOrders.Row#digestLine} writes it (updated_at as
     * milliseconds since the epoch: no time zone or text format involved).
     */
    static final String TABLE_DIGEST = "SELECT count(*), coalesce(sum(amount_cents), 0), md5(coalesce(string_agg("
            + "order_id || '|' || customer_id || '|' || amount_cents::text || '|' || status || '|' || "
            + "(extract(epoch FROM updated_at) * 1000)::bigint::text, ',' ORDER BY order_id COLLATE \"C\"), '')) "
            + "FROM %s";

    static int count(Admin admin, Args args) throws Exception {
        String table = args.get("sink-table");
        if (!table.matches("[a-z_][a-z0-9_]*")) {
            throw new Args.UsageException("--sink-table must be a plain lower-case SQL name, not '" + table + "'");
        }
        String input = args.get("input-topic");
        String group = args.get("group");
        boolean offsetsInKafka = switch (args.get("offsets")) {
            case "kafka" -> true;
            case "postgres" -> false;
            default -> throw new Args.UsageException("--offsets is kafka or postgres");
        };
        Map<String, String> expected = readExpected(Path.of(args.get("expect-file")));
        Path pidFile = Path.of(args.get("pid-file"));
        String brokerPids = args.get("broker-pid-file", null);
        String postgresPid = args.get("postgres-pid-file", null);
        long ticksPerSecond = args.getLong("clk-tck", 100);
        long firstTimeout = TimeUnit.SECONDS.toNanos(args.getLong("first-timeout-s", 90));
        long idleTimeout = TimeUnit.SECONDS.toNanos(args.getLong("idle-timeout-s", 30));
        long windowCap = TimeUnit.SECONDS.toNanos(args.getLong("max-seconds", 3600));
        Cpu cpu = new Cpu(pidFile, brokerPids == null ? null : Path.of(brokerPids),
                postgresPid == null ? null : Path.of(postgresPid));

        String status;
        long total;
        long firstCommitted = -1;
        long committed = 0;
        long firstNanos = 0;
        long lastNanos = 0;
        long[] firstTicks = {-1, -1, -1};
        long[] lastTicks = {-1, -1, -1};
        List<String> checks = new ArrayList<>();
        try (Connection db = DriverManager.getConnection(args.get("jdbc-url"), args.get("db-user"), "");
                var consumer = new KafkaConsumer<byte[], byte[]>(Counter.outputConsumer(args.get("bootstrap")))) {
            db.setAutoCommit(true);
            fresh(db, table, group);
            List<TopicPartition> inputs = consumer.partitionsFor(input).stream()
                    .map(info -> new TopicPartition(input, info.partition())).toList();
            total = consumer.endOffsets(inputs).values().stream().mapToLong(Long::longValue).sum();
            Files.writeString(Path.of(args.get("ready-file")), "ready\n");

            long started = System.nanoTime();
            long lastProgress = started;
            long goneSince = 0;
            while (true) {
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(ASK_EVERY_NANOS));
                long seen = offsetsInKafka ? committedInKafka(admin, group, inputs) : committedInPostgres(db, group, input);
                long now = System.nanoTime();
                if (seen > committed) {
                    committed = seen;
                    lastProgress = now;
                    if (firstCommitted < 0) {
                        firstCommitted = seen;
                        firstNanos = now;
                        firstTicks = cpu.ticks();
                    }
                }
                if (firstCommitted >= 0 && (committed >= total || now - firstNanos >= windowCap)) {
                    lastNanos = now;
                    lastTicks = cpu.ticks();
                    status = "ok";
                    break;
                }
                if (ProcCpu.ticks(pidFile) < 0 && Files.exists(pidFile)) {
                    goneSince = goneSince == 0 ? now : goneSince;
                    if (now - goneSince > TimeUnit.SECONDS.toNanos(3)) {
                        status = "failed: the contender exited at " + committed + " of " + total + " input records";
                        break;
                    }
                }
                if (firstCommitted < 0 && now - started > firstTimeout) {
                    status = "timeout: no committed input offsets within " + firstTimeout / 1_000_000_000 + " s";
                    break;
                } else if (firstCommitted >= 0 && now - lastProgress > idleTimeout) {
                    status = "timeout: stuck at " + committed + " of " + total + " input records";
                    break;
                }
            }
            if (status.equals("ok") && committed >= total) {
                String wrong = check(db, table, expected, checks);
                status = wrong == null ? status : "wrong: " + wrong;
            }
        }

        List<String> lines = new ArrayList<>();
        lines.add("status=" + status);
        lines.add("records=" + committed);
        lines.add("complete=" + (committed >= total ? 1 : 0));
        lines.add("first_poll_records=" + Math.max(0, firstCommitted));
        lines.add("input_records=" + total);
        long timed = committed - firstCommitted;
        double seconds = (lastNanos - firstNanos) / 1e9;
        if (firstCommitted >= 0 && lastNanos > 0 && timed > 0 && seconds > 0) {
            lines.add(String.format("seconds=%.3f", seconds));
            lines.add(String.format("rate=%.0f", timed / seconds));
            String[] names = {"cpu_us_per_record", "broker_us_per_record", "postgres_us_per_record"};
            for (int i = 0; i < names.length; i++) {
                if (firstTicks[i] >= 0 && lastTicks[i] >= 0) {
                    lines.add(String.format("%s=%.2f", names[i], (lastTicks[i] - firstTicks[i]) * 1e6 / ticksPerSecond
                            / timed));
                }
            }
        }
        lines.addAll(checks);
        Counter.writeLines(Path.of(args.get("result-file")), lines);
        Counter.awaitExit(pidFile);
        try (Connection db = DriverManager.getConnection(args.get("jdbc-url"), args.get("db-user"), "")) {
            drop(db, table, group);
        } catch (SQLException e) {
            System.err.println("count: could not drop " + table + ": " + e.getMessage());
        }
        try {
            admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // eoshost's sink may have committed nothing to Kafka; scripts/bench clears its prefix at the end.
        }
        return status.equals("ok") ? 0 : 1;
    }

    /** The contender's, the broker's and PostgreSQL's CPU ticks (-1 for what is not measured or gone). */
    private record Cpu(Path contender, Path broker, Path postgres) {
        long[] ticks() {
            return new long[] {ProcCpu.ticks(contender), broker == null ? -1 : ProcCpu.ticks(broker),
                postgres == null ? -1 : ProcCpu.treeTicks(postgres)};
        }
    }

    /** A fresh, empty table for this run, and no offsets of this group left from an earlier one. */
    private static void fresh(Connection db, String table, String group) throws SQLException {
        drop(db, table, group);
        try (Statement statement = db.createStatement()) {
            statement.execute(String.format(CREATE, table));
        }
    }

    private static void drop(Connection db, String table, String group) throws SQLException {
        try (Statement statement = db.createStatement()) {
            statement.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_dead_letters");
            if (exists(db, "eoshost_offsets")) {
                try (PreparedStatement delete = db.prepareStatement("DELETE FROM eoshost_offsets WHERE group_id = ?")) {
                    delete.setString(1, group);
                    delete.executeUpdate();
                }
            }
        }
    }

    private static boolean exists(Connection db, String table) throws SQLException {
        try (PreparedStatement query = db.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            query.setString(1, table);
            try (ResultSet result = query.executeQuery()) {
                return result.next() && result.getBoolean(1);
            }
        }
    }

    /** The input records group has committed in eoshost_offsets, 0 before its first commit. */
    private static long committedInPostgres(Connection db, String group, String topic) {
        try (PreparedStatement query = db.prepareStatement(
                "SELECT coalesce(sum(next_offset), 0) FROM eoshost_offsets WHERE group_id = ? AND topic = ?")) {
            query.setString(1, group);
            query.setString(2, topic);
            try (ResultSet result = query.executeQuery()) {
                return result.next() ? result.getLong(1) : 0;
            }
        } catch (SQLException e) {
            // No offsets table yet (eoshost creates it at start): nothing committed.
            return 0;
        }
    }

    /** The input records group has committed in Kafka (the sum of its offsets), 0 before its first commit. */
    private static long committedInKafka(Admin admin, String group, List<TopicPartition> inputs)
            throws InterruptedException {
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
            long sum = 0;
            for (TopicPartition partition : inputs) {
                OffsetAndMetadata offset = offsets.get(partition);
                sum += offset == null ? 0 : offset.offset();
            }
            return sum;
        } catch (ExecutionException | TimeoutException e) {
            return 0;
        }
    }

    /** What is wrong with the table, or null if it is what the loader expects; the figures go to checks. */
    private static String check(Connection db, String table, Map<String, String> expected, List<String> checks)
            throws SQLException {
        long rows;
        long sum;
        String digest;
        try (Statement statement = db.createStatement();
                ResultSet result = statement.executeQuery(String.format(TABLE_DIGEST, table))) {
            result.next();
            rows = result.getLong(1);
            sum = result.getLong(2);
            digest = result.getString(3);
        }
        boolean same = digest.equals(expected.get("digest"));
        checks.add("rows=" + rows);
        checks.add("expected_rows=" + expected.get("rows"));
        checks.add("amount_sum=" + sum);
        checks.add("expected_amount_sum=" + expected.get("amount_sum"));
        checks.add("digest_match=" + (same ? 1 : 0));
        if (String.valueOf(rows).equals(expected.get("rows")) && String.valueOf(sum).equals(expected.get("amount_sum"))
                && same) {
            return null;
        }
        return String.format("%d of %s rows, amount_cents summing to %d of %s, digest %s", rows, expected.get("rows"),
                sum, expected.get("amount_sum"), same ? "equal" : "different (a row is not its order's last update)");
    }

    /** The loader's --expect-file: key=value lines. */
    private static Map<String, String> readExpected(Path file) throws java.io.IOException {
        Map<String, String> values = new java.util.HashMap<>();
        for (String line : Files.readAllLines(file)) {
            int equals = line.indexOf('=');
            if (equals > 0) {
                values.put(line.substring(0, equals), line.substring(equals + 1));
            }
        }
        return values;
    }
}
