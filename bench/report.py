#!/usr/bin/env python3
"""Summary of one scripts/bench run: medians per contender and case, the
ratio lines (printed last), and in the full run the markdown table
bench/results/latest.md (with --join alone: bench/results/join.md; with
--windows alone: bench/results/windows.md; with --sink alone:
bench/results/sink.md; with --avro alone: bench/results/avro.md).

Input: the runs file scripts/bench writes, one tab-separated line per run:
kind name partitions size round rate cpu_us broker_cpu_us p50_ms p99_ms
commit_p50_ms commit_p99_ms peak_rss_mib status ("-" where a figure does not
apply; for a latency run, rate is the input rate it was fed at); the table loads of the join
case's runs, one line per run: name round records bytes seconds (from the
contender's "table loaded" line; "-" where it did not say); and the output
checks of the windows case's runs, one line per run: name round outputs
expected_outputs count_sum expected_sum duplicates malformed; and the sink
case's, one line per run: name round postgres_us rows expected_rows
amount_sum expected_amount_sum digest_match; and the avro case's, one line
per run: name round checksum_sum expected_checksum_sum complete malformed
schema_ids.
"""

import argparse
import statistics
import sys

FIELDS = ["kind", "name", "partitions", "size", "round", "rate", "cpu", "broker", "p50", "p99", "c50", "c99", "rss",
          "status"]

DESCRIPTIONS = {
    "eoshost-identity": "eoshost + identity.wasm",
    "eoshost-enrich": "eoshost + enrich.wasm",
    "eoshost-enrich-py": "eoshost + enrich-py.wasm (enrich_order.py, componentize-py)",
    "eoshost-enrich-js": "eoshost + enrich-js.wasm (QuickJS)",
    "quix": "Quix Streams exactly-once, enrich_order.py in CPython",
    "kstreams-1": "Kafka Streams exactly_once_v2, mapValues, 1 thread",
    "kstreams-2": "Kafka Streams exactly_once_v2, mapValues, 2 threads",
    "eos-guide": "the guide's exactly-once processor (one transaction per poll)",
    "alo": "at-least-once Java copy, offsets every 100 ms",
    "producer-perf": "ProducerPerformance, 100 ms transactions (reference, no input)",
    "eoshost-lookup": "eoshost + lookup.wasm, the customer from --table",
    "kstreams-join-1": "Kafka Streams exactly_once_v2, join with a GlobalKTable, 1 thread",
    "kstreams-join-2": "Kafka Streams exactly_once_v2, join with a GlobalKTable, 2 threads",
    "eoshost-window-count": "eoshost + window-count.wasm, 10 s windows",
    "kstreams-windows-1": "Kafka Streams exactly_once_v2, windowed count + suppress, 1 thread",
    "kstreams-windows-2": "Kafka Streams exactly_once_v2, windowed count + suppress, 2 threads",
    "eoshost-sink": "eoshost --sink postgres, upsert (exactly once)",
    "connect-jdbc-1": "Kafka Connect, Debezium JDBC sink, upsert (at least once), 1 task",
    "connect-jdbc-2": "Kafka Connect, Debezium JDBC sink, upsert (at least once), 2 tasks",
    "eoshost-bytes": "eoshost + identity.wasm, values as bytes",
    "eoshost-avro": "eoshost + identity.wasm, --value-format avro (decoded to JSON; the unchanged value keeps its bytes)",
    "kstreams-avro": "Kafka Streams exactly_once_v2, Apicurio Avro serde, mapValues identity, 1 thread",
}
ORDER = list(DESCRIPTIONS)
# The copy cases' value sizes (any partition count).
COPY_SIZES = (100, 1024)
# The orders case's contenders: 6 partitions, orders of ORDERS_SIZE bytes, enriched.
ENRICHERS = ("eoshost-enrich", "eoshost-enrich-py", "eoshost-enrich-js", "quix")
ORDERS_SIZE = 200
# The join case's contenders: 6 partitions, orders and customers of JOIN_SIZE bytes.
JOINERS = ("eoshost-lookup", "kstreams-join-1", "kstreams-join-2")
JOIN_SIZE = 200
# The windows case's contenders: 6 partitions, 1,000 keys, values of WINDOWS_SIZE bytes,
# counted per input record.
WINDOWERS = ("eoshost-window-count", "kstreams-windows-1", "kstreams-windows-2")
WINDOWS_SIZE = 64
# The sink case's contenders: 6 partitions, updates of SINK_SIZE bytes upserted into PostgreSQL,
# counted per input record (row written).
SINKERS = ("eoshost-sink", "connect-jdbc-1", "connect-jdbc-2")
SINK_SIZE = 200
# The avro case's contenders: 6 partitions, orders of AVRO_SIZE bytes in Avro (Confluent wire format),
# copied. Their size is a copy case's; they are not in the copy tables.
AVROERS = ("eoshost-bytes", "eoshost-avro", "kstreams-avro")
AVRO_SIZE = 1024


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def load(path):
    runs = []
    with open(path) as lines:
        for line in lines:
            values = line.rstrip("\n").split("\t")
            if len(values) != len(FIELDS):
                continue
            run = dict(zip(FIELDS, values))
            run["partitions"], run["size"] = int(run["partitions"]), int(run["size"])
            runs.append(run)
    return runs


def ok(run):
    """A run that counts: complete, or cut off at --max-seconds (ok_capped)."""
    return run["status"] in ("ok", "ok_capped")


def median(runs, field):
    values = [number(run[field]) for run in runs if ok(run)]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Table:
    """The runs grouped by (kind, name, partitions, size)."""

    def __init__(self, runs):
        self.groups = {}
        for run in runs:
            key = (run["kind"], run["name"], run["partitions"], run["size"])
            self.groups.setdefault(key, []).append(run)

    def runs(self, kind, name, partitions, size):
        return self.groups.get((kind, name, partitions, size), [])

    def median(self, kind, name, partitions, size, field):
        return median(self.runs(kind, name, partitions, size), field)

    def ok_count(self, kind, name, partitions, size):
        return sum(1 for run in self.runs(kind, name, partitions, size) if ok(run))

    def kstreams(self, partitions, size, names=("kstreams-1", "kstreams-2")):
        """Kafka Streams at its better thread count: (name, median rate)."""
        best = (None, None)
        for name in names:
            rate = self.median("throughput", name, partitions, size, "rate")
            if rate is not None and (best[1] is None or rate > best[1]):
                best = (name, rate)
        return best

    def has_copies(self):
        return any(key[0] == "throughput" and key[3] in COPY_SIZES and key[1] not in AVROERS for key in self.groups)

    def has_orders(self):
        return any(key[0] == "throughput" and key[1] in ENRICHERS and key[3] == ORDERS_SIZE for key in self.groups)

    def has_join(self):
        return any(key[0] == "throughput" and key[1] in JOINERS for key in self.groups)

    def has_windows(self):
        return any(key[0] == "throughput" and key[1] in WINDOWERS for key in self.groups)

    def has_sink(self):
        return any(key[0] == "throughput" and key[1] in SINKERS for key in self.groups)

    def has_avro(self):
        return any(key[0] == "throughput" and key[1] in AVROERS for key in self.groups)

    def ratios(self):
        """The copy cases' four lines, the orders case's, the join case's, the windows case's, the sink
        case's, then the avro case's two (of the cases that ran)."""
        lines = []
        if self.has_copies():
            for peer in ("kstreams", "alo"):
                for size in COPY_SIZES:
                    ours = self.median("throughput", "eoshost-identity", 6, size, "rate")
                    theirs = self.kstreams(6, size)[1] if peer == "kstreams" else \
                        self.median("throughput", "alo", 6, size, "rate")
                    lines.append(f"ratio eoshost/{peer} size={size} {ratio(ours, theirs)}")
        if self.has_orders():
            ours = self.median("throughput", "eoshost-enrich-py", 6, ORDERS_SIZE, "rate")
            theirs = self.median("throughput", "quix", 6, ORDERS_SIZE, "rate")
            lines.append(f"ratio eoshost-py/quix size={ORDERS_SIZE} {ratio(ours, theirs)}")
        if self.has_join():
            ours = self.median("throughput", "eoshost-lookup", 6, JOIN_SIZE, "rate")
            theirs = self.kstreams(6, JOIN_SIZE, ("kstreams-join-1", "kstreams-join-2"))[1]
            lines.append(f"ratio eoshost-lookup/kstreams-join size={JOIN_SIZE} {ratio(ours, theirs)}")
        if self.has_windows():
            ours = self.median("throughput", "eoshost-window-count", 6, WINDOWS_SIZE, "rate")
            theirs = self.kstreams(6, WINDOWS_SIZE, ("kstreams-windows-1", "kstreams-windows-2"))[1]
            lines.append(f"ratio eoshost-windows/kstreams-windows size={WINDOWS_SIZE} {ratio(ours, theirs)}")
        if self.has_sink():
            ours = self.median("throughput", "eoshost-sink", 6, SINK_SIZE, "rate")
            theirs = self.kstreams(6, SINK_SIZE, ("connect-jdbc-1", "connect-jdbc-2"))[1]
            lines.append(f"ratio eoshost-sink/connect-jdbc size={SINK_SIZE} {ratio(ours, theirs)}")
        if self.has_avro():
            ours = self.median("throughput", "eoshost-avro", 6, AVRO_SIZE, "rate")
            for theirs in ("eoshost-bytes", "kstreams-avro"):
                lines.append(f"ratio eoshost-avro/{theirs} size={AVRO_SIZE} "
                             f"{ratio(ours, self.median('throughput', theirs, 6, AVRO_SIZE, 'rate'))}")
        return lines


def ratio(ours, theirs):
    return f"{ours / theirs:.2f}" if ours and theirs else "n/a"


class TableLoads:
    """The join case's table loads at start, per contender: records/s of each run."""

    def __init__(self, path):
        self.runs = {}
        if not path:
            return
        with open(path) as lines:
            for line in lines:
                values = line.rstrip("\n").split("\t")
                if len(values) != 5:
                    continue
                name, round_, records, size, seconds = values
                self.runs.setdefault(name, []).append(
                    {"round": round_, "records": number(records), "bytes": number(size),
                     "seconds": number(seconds)})

    def names(self):
        return [name for name in ORDER if name in self.runs]

    def rates(self, name):
        return [run["records"] / run["seconds"] for run in self.runs.get(name, [])
                if run["records"] and run["seconds"]]

    def median(self, name, field=None):
        """The median records/s of NAME's loads, or of one of their fields."""
        if field is None:
            values = self.rates(name)
        else:
            values = [run[field] for run in self.runs.get(name, []) if run[field] is not None]
        return statistics.median(values) if values else None

    def line(self):
        """eoshost's table load at start, the figure the issue asks for."""
        rate = self.median("eoshost-lookup")
        return f"table load eoshost-lookup size={JOIN_SIZE} {f'{rate:.0f}' if rate else 'n/a'} records/s"


class CheckedRuns:
    """The checks a counter wrote run by run, one tab-separated line each
    (FIELDS, in order); a subclass names the fields and says what is right."""

    FIELDS = []

    def __init__(self, path):
        self.runs = []
        if not path:
            return
        with open(path) as lines:
            for line in lines:
                values = line.rstrip("\n").split("\t")
                if len(values) == len(self.FIELDS):
                    self.runs.append(dict(zip(self.FIELDS, values)))


class WindowChecks(CheckedRuns):
    """The windows case's output, checked run by run by the counter: windows written
    against the windows that close, the sum of their counts against the records in them."""

    FIELDS = ["name", "round", "outputs", "expected_outputs", "count_sum", "expected_sum", "duplicates",
              "malformed"]


    @staticmethod
    def right(run):
        return (run["outputs"] == run["expected_outputs"] and run["count_sum"] == run["expected_sum"]
                and run["duplicates"] == "0" and run["malformed"] == "0")

    def lines(self):
        """One line per run, then whether every run wrote the same (the expected) windows."""
        out = []
        for run in self.runs:
            out.append(f"  {run['name']:<20} round {run['round']}: {run['outputs'] or '-'} of "
                       f"{run['expected_outputs'] or '-'} windows, counts summing to {run['count_sum'] or '-'} of "
                       f"{run['expected_sum'] or '-'}, {run['duplicates'] or '-'} duplicates, "
                       f"{run['malformed'] or '-'} malformed{'' if self.right(run) else '  MISMATCH'}")
        if self.runs:
            outputs = sorted({(run["outputs"], run["count_sum"]) for run in self.runs})
            if len(outputs) == 1 and all(self.right(run) for run in self.runs):
                out.append(f"  every run wrote the same {outputs[0][0]} windows, counts summing to {outputs[0][1]}, "
                           "as expected")
            else:
                out.append("  MISMATCH: the runs wrote " + "; ".join(f"{o} windows summing to {c}" for o, c in outputs)
                           + f" (expected {self.runs[0]['expected_outputs']} summing to "
                           f"{self.runs[0]['expected_sum']}); a wrong run does not count")
        return out


class SinkChecks(CheckedRuns):
    """The sink case's runs as the counter saw them: PostgreSQL's CPU per row, and the table
    checked against the loader's (rows, the sum of amount_cents, a digest of every row)."""

    FIELDS = ["name", "round", "postgres", "rows", "expected_rows", "amount_sum", "expected_amount_sum",
              "digest_match"]


    @staticmethod
    def right(run):
        return (run["rows"] == run["expected_rows"] and run["amount_sum"] == run["expected_amount_sum"]
                and run["digest_match"] == "1")

    def postgres(self, name, table):
        """PostgreSQL's median µs per row over NAME's runs that count."""
        counted = {run["round"] for run in table.runs("throughput", name, 6, SINK_SIZE) if ok(run)}
        values = [number(run["postgres"]) for run in self.runs if run["name"] == name and run["round"] in counted]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def line(self, table):
        """eoshost's rows/s and PostgreSQL's share, the figures the issue asks for."""
        rate = table.median("throughput", "eoshost-sink", 6, SINK_SIZE, "rate")
        own = table.median("throughput", "eoshost-sink", 6, SINK_SIZE, "cpu")
        pg = self.postgres("eoshost-sink", table)
        share = f" ({pg / (pg + own) * 100:.0f}% of eoshost + PostgreSQL's CPU)" if pg is not None and own else ""
        return (f"sink eoshost-sink size={SINK_SIZE} {fmt(rate).replace(',', '') if rate else 'n/a'} rows/s, "
                f"PostgreSQL {fmt(pg, 2) if pg is not None else 'n/a'} µs/row{share}")

    def lines(self):
        out = []
        for run in self.runs:
            out.append(f"  {run['name']:<15} round {run['round']}: {run['rows']} of {run['expected_rows']} rows, "
                       f"amount_cents summing to {run['amount_sum']} of {run['expected_amount_sum']}, digest "
                       f"{'equal' if run['digest_match'] == '1' else 'DIFFERENT' if run['digest_match'] == '0' else '-'}"
                       f"{'' if self.right(run) else '  MISMATCH (or not checked)'}")
        return out


class AvroChecks(CheckedRuns):
    """The avro case's output, checked run by run by the counter: the sum of the values' checksums (the
    Avro bytes after the schema id) against the loader's, once every record is back, and the schema ids
    the contender wrote."""

    FIELDS = ["name", "round", "checksum_sum", "expected_checksum_sum", "complete", "malformed", "schema_ids"]


    @staticmethod
    def state(run):
        if run["complete"] != "1":
            return "cut off, not compared"
        if run["checksum_sum"] == run["expected_checksum_sum"] and run["malformed"] == "0":
            return "same bytes as the input"
        return "MISMATCH"

    def lines(self):
        return [f"  {run['name']:<14} round {run['round']}: checksums summing to {run['checksum_sum']} of "
                f"{run['expected_checksum_sum']}, {run['malformed']} not in the wire format, schema ids "
                f"{run['schema_ids']}: {self.state(run)}" for run in self.runs]


def fmt(value, digits=0, unit=""):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{unit}"


def text_summary(table, partitions_list, rounds, customers):
    out = []
    # (heading, partitions, size, contenders) of each throughput case.
    copiers = [name for name in ORDER if name not in AVROERS]
    cases = [(f"{partitions} partitions, {size} B values", partitions, size, copiers)
             for partitions in partitions_list for size in COPY_SIZES]
    cases.append((f"orders, 6 partitions, {ORDERS_SIZE} B, enriched", 6, ORDERS_SIZE, ENRICHERS))
    cases.append((f"join, 6 partitions, {JOIN_SIZE} B orders, {customers:,} customers of {JOIN_SIZE} B", 6,
                  JOIN_SIZE, JOINERS))
    cases.append((f"windows, 6 partitions, {WINDOWS_SIZE} B, 1,000 keys, 10 s windows, per input record", 6,
                  WINDOWS_SIZE, WINDOWERS))
    cases.append((f"sink, 6 partitions, {SINK_SIZE} B updates of 100,000 orders upserted into PostgreSQL, "
                  "records/s = rows/s", 6, SINK_SIZE, SINKERS))
    cases.append((f"avro, 6 partitions, {AVRO_SIZE} B Avro orders (Confluent wire format), copied", 6, AVRO_SIZE,
                  AVROERS))
    for heading, partitions, size, contenders in cases:
        names = [n for n in ORDER if n in contenders and table.runs("throughput", n, partitions, size)]
        if not names:
            continue
        out.append(f"{heading} (median of {rounds} rounds):")
        for name in names:
            rate = table.median("throughput", name, partitions, size, "rate")
            cpu = table.median("throughput", name, partitions, size, "cpu")
            broker = table.median("throughput", name, partitions, size, "broker")
            c50 = table.median("throughput", name, partitions, size, "c50")
            c99 = table.median("throughput", name, partitions, size, "c99")
            ok = table.ok_count("throughput", name, partitions, size)
            all_rates = ", ".join(r["rate"] for r in table.runs("throughput", name, partitions, size))
            rss = table.median("throughput", name, partitions, size, "rss")
            line = (f"  {name:<17} {fmt(rate):>9} records/s  {fmt(cpu, 2):>6} µs CPU/record  "
                    f"{fmt(broker, 2):>6} µs broker/record  {fmt(rss):>4} MiB peak")
            if c50 is not None:
                line += f"  commit p50/p99 {fmt(c50, 1)}/{fmt(c99, 1)} ms"
            line += f"  [{ok} ok: {all_rates}]"
            out.append(line)
    return out


INTRO = ("Throughput is records/s from the first committed output to the last, counted back by a "
         "read_committed consumer; CPU is the contender process's utime + stime over the same window, per "
         "record, and broker CPU the same for the broker's JVM (which also serves the counter's reads, alike "
         "for every contender). Every contender uses a 100 ms commit interval, on one local broker. The two "
         "cores are shared "
         "with the broker, the counter and whatever else runs on the machine, so figures move from run to run; "
         "compare ratios within one run. See bench/README.md.")


def machine_section(machine):
    md = ["## Machine", "", "| | |", "|---|---|"]
    md.extend(f"| {key} | {value} |" for key, value in machine)
    md.append("")
    return md


def throughput_cells(table, name, size):
    """A contender's cells at 6 partitions and SIZE: name, rec/s, CPU and broker
    µs/rec, eoshost's commit p50/p99, peak RSS (medians of the rounds)."""
    c50 = table.median("throughput", name, 6, size, "c50")
    c99 = table.median("throughput", name, 6, size, "c99")
    return [
        DESCRIPTIONS[name],
        fmt(table.median("throughput", name, 6, size, "rate")),
        fmt(table.median("throughput", name, 6, size, "cpu"), 2),
        fmt(table.median("throughput", name, 6, size, "broker"), 2),
        f"{fmt(c50, 1)} / {fmt(c99, 1)}" if c50 is not None else "—",
        fmt(table.median("throughput", name, 6, size, "rss")),
    ]


def join_section(table, loads, customers):
    """The join case: throughput and CPU per contender, and the table load at start."""
    md = [f"## Join, 6 partitions ({JOIN_SIZE} B orders, {customers:,} customers of {JOIN_SIZE} B)", ""]
    md.append("| contender | rec/s | CPU µs/rec | broker µs/rec | eoshost commit p50/p99 ms | peak RSS MiB | "
              "table load at start rec/s | table load s |")
    md.append("|---|---|---|---|---|---|---|---|")
    for name in JOINERS:
        if not table.runs("throughput", name, 6, JOIN_SIZE):
            continue
        md.append("| " + " | ".join(throughput_cells(table, name, JOIN_SIZE) + [
            fmt(loads.median(name)),
            fmt(loads.median(name, "seconds"), 2),
        ]) + " |")
    md.append("")
    md.append("The table load is each contender's own figure, from the start of its load to its end: eoshost's "
              "\"table loaded\" log line, Kafka Streams' global store restore (its restore listener). Both "
              "happen before the first order is processed, outside the counting window.")
    md.append("")
    return md


def orders_section(table):
    """The orders case: throughput and CPU of every enrich on the same orders."""
    md = [f"## Orders, 6 partitions ({ORDERS_SIZE} B orders, enriched)", ""]
    md.append("| contender | rec/s | CPU µs/rec | broker µs/rec | eoshost commit p50/p99 ms | peak RSS MiB |")
    md.append("|---|---|---|---|---|---|")
    for name in ORDER:
        if name not in ENRICHERS or not table.runs("throughput", name, 6, ORDERS_SIZE):
            continue
        md.append("| " + " | ".join(throughput_cells(table, name, ORDERS_SIZE)) + " |")
    md.append("")
    return md


def windows_section(table, checks, records):
    """The windows case: throughput and CPU per input record, and the output checks."""
    md = ["## Windows: ratio (eoshost + window-count; Kafka Streams at its better thread count)", ""]
    md.extend(f"    {line}" for line in table.ratios() if line.startswith("ratio eoshost-windows/"))
    md.append("")
    md.append(f"## Windows, 6 partitions ({records:,} records of {WINDOWS_SIZE} B, 1,000 keys, 10 s windows)")
    md.append("")
    md.append("Records/s and CPU are per input record: from the first moment the contender's group has committed "
              "input offsets to the moment they reach the input's end (asked every 50 ms), CPU over the same "
              "window; the output (one record per key and closed window) is not what is timed.")
    md.append("")
    md.append("| contender | rec/s | CPU µs/rec | broker µs/rec | eoshost commit p50/p99 ms | peak RSS MiB |")
    md.append("|---|---|---|---|---|---|")
    for name in WINDOWERS:
        if table.runs("throughput", name, 6, WINDOWS_SIZE):
            md.append("| " + " | ".join(throughput_cells(table, name, WINDOWS_SIZE)) + " |")
    md.append("")
    if checks.runs:
        md.append("The output of every run, read back with read_committed: windows written (each key and window "
                  "once) against the windows that close, and the sum of their counts against the input records in "
                  "those windows.")
        md.append("")
        md.append("| contender | round | windows | expected | counts sum | expected | duplicates | malformed |")
        md.append("|---|---|---|---|---|---|---|---|")
        for run in checks.runs:
            md.append("| " + " | ".join(run[f] or "—" for f in WindowChecks.FIELDS) + " |")
        md.append("")
        md.extend(line.strip() for line in checks.lines()[-1:])
        md.append("")
    return md


def sink_section(table, sinks, records):
    """The sink case: rows/s and CPU per row (the contender's, PostgreSQL's, the broker's), and the checks."""
    md = ["## Sink: ratio and eoshost's figure (Kafka Connect at its better task count)", ""]
    md.append(f"    {sinks.line(table)}")
    md.extend(f"    {line}" for line in table.ratios() if line.startswith("ratio eoshost-sink/"))
    md.append("")
    md.append(f"## Sink into PostgreSQL, 6 partitions ({records:,} updates of {SINK_SIZE} B of 100,000 orders, "
              "upserted into a table of five columns)")
    md.append("")
    md.append("Rows/s are input records per second (one upsert each) from the first moment the contender's group "
              "has committed input offsets to the moment they reach the input's end (asked every 50 ms): eoshost's "
              "in `eoshost_offsets`, committed in the database transaction that writes the rows; Connect's in "
              "Kafka, committed every second (`offset.flush.interval.ms=1000`) for what the connector has "
              "flushed. CPU over the same window, per row: the contender's process, PostgreSQL's (the postmaster "
              "and all of its backends) and the broker's. Both read the same topic, the same bytes.")
    md.append("")
    md.append("| contender | rows/s | CPU µs/row | PostgreSQL µs/row | contender + PostgreSQL µs/row | "
              "PostgreSQL's share | broker µs/row | eoshost commit p50/p99 ms | peak RSS MiB |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    for name in SINKERS:
        if not table.runs("throughput", name, 6, SINK_SIZE):
            continue
        own = table.median("throughput", name, 6, SINK_SIZE, "cpu")
        pg = sinks.postgres(name, table)
        both = own + pg if own is not None and pg is not None else None
        c50 = table.median("throughput", name, 6, SINK_SIZE, "c50")
        c99 = table.median("throughput", name, 6, SINK_SIZE, "c99")
        md.append("| " + " | ".join([
            DESCRIPTIONS[name], fmt(table.median("throughput", name, 6, SINK_SIZE, "rate")), fmt(own, 2),
            fmt(pg, 2), fmt(both, 2), fmt(pg / both * 100 if both else None, 0, "%"),
            fmt(table.median("throughput", name, 6, SINK_SIZE, "broker"), 2),
            f"{fmt(c50, 1)} / {fmt(c99, 1)}" if c50 is not None else "—",
            fmt(table.median("throughput", name, 6, SINK_SIZE, "rss"))]) + " |")
    md.append("")
    if sinks.runs:
        md.append("The table of every run, checked once the input was committed: rows, the sum of amount_cents, "
                  "and a digest of every row (each order's last update) against the loader's.")
        md.append("")
        md.append("| contender | round | PostgreSQL µs/row | rows | expected | amount_cents sum | expected | "
                  "digest equal |")
        md.append("|---|---|---|---|---|---|---|---|")
        for run in sinks.runs:
            md.append("| " + " | ".join(run[f] or "—" for f in SinkChecks.FIELDS) + " |")
        md.append("")
    return md


def sink_markdown(table, loads, sinks, machine, records, rounds):
    """bench/results/sink.md: scripts/bench --sink."""
    md = ["# scripts/bench --sink: eoshost's PostgreSQL sink against Kafka Connect's JDBC sink", ""]
    md.append(f"Written by `scripts/bench --sink`. Every contender read the same {records['sink']:,} preloaded "
              f"updates of {SINK_SIZE} B (JSON objects of five fields) of 100,000 orders over 6 partitions and "
              "upserted them on order_id into a fresh table of its own, `(order_id text primary key, customer_id "
              "text, amount_cents bigint, status text, updated_at timestamptz)`: eoshost's sink (`--sink postgres "
              "--columns auto --write upsert --key-columns order_id`, identity plugin, exactly once: the offsets "
              "in the same database transaction, every 100 ms) and Kafka Connect 4.4.0 in standalone mode with "
              "Debezium's JDBC sink connector 3.3.1.Final (`insert.mode=upsert`, `primary.key.mode=record_value`, "
              "at least once; 1 and 2 tasks). Medians of "
              f"{rounds} rounds. The two cores are shared with the broker, PostgreSQL, the counter and whatever "
              "else runs on the machine, so figures move from run to run; compare ratios within one run. See "
              "bench/README.md.")
    md.append("")
    md.extend(machine_section(machine))
    md.extend(sink_section(table, sinks, records["sink"]))
    md.extend(every_run_section(table, loads))
    return "\n".join(md)


def avro_section(table, avros, records):
    """The avro case: what decoding and encoding Avro costs eoshost, and Kafka Streams doing the same."""
    md = ["## Avro: ratios (eoshost + identity with --value-format avro against the same on bytes, and against "
          "Kafka Streams with Apicurio's Avro serde)", ""]
    md.extend(f"    {line}" for line in table.ratios() if line.startswith("ratio eoshost-avro/"))
    md.append("")
    md.append(f"## Avro, 6 partitions ({records:,} orders of {AVRO_SIZE} B in the Confluent wire format, copied)")
    md.append("")
    md.append("Every contender copies the same orders (magic byte, schema id, Avro binary of a schema with "
              "strings, longs, an int, a double, a nullable string, an enum, a nested record, an array of 7 to 11 "
              "line items, a map and a timestamp-millis) to an output topic of its own, exactly once. "
              "`eoshost-bytes` hands the plugin the bytes; `eoshost-avro` decodes each value to JSON text with the "
              "writer schema from the registry and the plugin copies it; the output's schema is the input's "
              "(registered under the output topic's subject), so eoshost writes the unchanged value's own bytes "
              "instead of encoding it again (what it encodes costs ~2.5 µs more for such a record: "
              "`cargo bench -p eoshost-formats --bench avro`); Kafka Streams "
              "deserialises each value to a GenericRecord and serialises it again through Apicurio's serde. "
              "Records/s are counted back with read_committed, as in the copy cases.")
    md.append("")
    md.append("| contender | rec/s | CPU µs/rec | broker µs/rec | eoshost commit p50/p99 ms | peak RSS MiB |")
    md.append("|---|---|---|---|---|---|")
    for name in AVROERS:
        if table.runs("throughput", name, 6, AVRO_SIZE):
            md.append("| " + " | ".join(throughput_cells(table, name, AVRO_SIZE)) + " |")
    md.append("")
    typed = table.median("throughput", "eoshost-avro", 6, AVRO_SIZE, "cpu")
    plain = table.median("throughput", "eoshost-bytes", 6, AVRO_SIZE, "cpu")
    if typed is not None and plain is not None:
        md.append(f"What Avro costs eoshost per record (decode to JSON, hand over, compare), the CPU of "
                  f"`eoshost-avro` less that of `eoshost-bytes`: {fmt(typed - plain, 2)} µs.")
        md.append("")
    if avros.runs:
        md.append("The output of every run, read back with read_committed: the sum of the values' checksums "
                  "(CRC-32 of the bytes after the schema id) against the input's, once every record is back, "
                  "and the schema ids written. Identity through Avro gives back the same bytes, so a run whose "
                  "sum differs wrote something else and does not count.")
        md.append("")
        md.append("| contender | round | checksum sum | expected | every record back | not in the wire format "
                  "| schema ids | output |")
        md.append("|---|---|---|---|---|---|---|---|")
        for run in avros.runs:
            md.append("| " + " | ".join(run[f] or "—" for f in AvroChecks.FIELDS) + f" | {avros.state(run)} |")
        md.append("")
    return md


def avro_markdown(table, loads, avros, machine, records, rounds):
    """bench/results/avro.md: scripts/bench --avro."""
    md = ["# scripts/bench --avro: what Avro through a Schema Registry costs eoshost, and Kafka Streams", ""]
    md.append(f"Written by `scripts/bench --avro`. Every contender read the same {records['avro']:,} preloaded "
              f"orders of {AVRO_SIZE} B in Avro over 6 partitions, their schema in Apicurio Registry "
              "(scripts/schema-registry; Confluent-compatible API), and copied them: eoshost + identity on the "
              "bytes, eoshost + identity with `--value-format avro --schema-registry-url URL`, and Kafka Streams "
              "(exactly_once_v2, 1 thread) with Apicurio's Avro serde in Confluent-compatible mode "
              "(`apicurio.registry.as-confluent=true`, `apicurio.registry.headers.enabled=false`, "
              f"`apicurio.registry.use-id=contentId`), `mapValues` identity on a GenericRecord. Medians of {rounds} "
              "rounds. " + INTRO)
    md.append("")
    md.extend(machine_section(machine))
    md.extend(avro_section(table, avros, records["avro"]))
    md.extend(every_run_section(table, loads))
    return "\n".join(md)


def every_run_section(table, loads):
    md = ["## Every run", ""]
    md.append("| kind | contender | partitions | size | round | rec/s | CPU µs/rec | broker µs/rec | p50 ms | "
              "p99 ms | commit p50 ms | commit p99 ms | peak RSS MiB | status |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for runs in table.groups.values():
        for run in runs:
            md.append("| " + " | ".join(str(run[f]) for f in FIELDS) + " |")
    md.append("")
    if loads.runs:
        md.append("Table loads of the join case:")
        md.append("")
        md.append("| contender | round | records | bytes | seconds | rec/s |")
        md.append("|---|---|---|---|---|---|")
        for name in loads.names():
            for run in loads.runs[name]:
                rate = run["records"] / run["seconds"] if run["records"] and run["seconds"] else None
                md.append(f"| {name} | {run['round']} | {fmt(run['records'])} | {fmt(run['bytes'])} | "
                          f"{fmt(run['seconds'], 3)} | {fmt(rate)} |")
        md.append("")
    return md


def markdown(table, loads, checks, sinks, avros, machine, records, rounds, latency_seconds, customers):
    """bench/results/latest.md: the full run."""
    md = ["# scripts/bench: eoshost against its peers", ""]
    orders = (f" The orders case read {records[ORDERS_SIZE]:,} orders of {ORDERS_SIZE} B."
              if table.has_orders() else "")
    join = (f" The join case read {records['join']:,} orders of {JOIN_SIZE} B and a table of {customers:,} "
            f"customers of {JOIN_SIZE} B." if table.has_join() else "")
    windows = (f" The windows case read {records['windows']:,} records of {WINDOWS_SIZE} B (1,000 keys)."
               if table.has_windows() else "")
    windows += (f" The sink case read {records['sink']:,} updates of {SINK_SIZE} B of 100,000 orders."
                if table.has_sink() else "")
    windows += (f" The avro case read {records['avro']:,} orders of {AVRO_SIZE} B in Avro." if table.has_avro() else "")
    md.append(f"Written by `scripts/bench` (the full run). Every contender of a case read the same preloaded "
              f"orders ({records[100]:,} of 100 B, {records[1024]:,} of 1 KiB).{orders}{join}{windows} Medians of "
              f"{rounds} rounds. " + INTRO)
    md.append("")
    md.extend(machine_section(machine))
    md.append("## Ratios (6 partitions: eoshost + identity against the copies, Kafka Streams at its better "
              "thread count; eoshost + enrich-py against Quix Streams)")
    md.append("")
    md.extend(f"    {line}" for line in table.ratios()
              if not line.startswith(("ratio eoshost-lookup/", "ratio eoshost-windows/", "ratio eoshost-sink/",
                                      "ratio eoshost-avro/")))
    md.append("")
    for partitions in (6, 1, 24):
        if not any(key[0] == "throughput" and key[2] == partitions and key[3] in COPY_SIZES
                   and key[1] not in AVROERS for key in table.groups):
            continue
        md.append(f"## Throughput, {partitions} partition{'s' if partitions > 1 else ''}")
        md.append("")
        md.append("| contender | 100 B rec/s | 1 KiB rec/s | CPU µs/rec 100 B | CPU µs/rec 1 KiB | "
                  "broker µs/rec 100 B | broker µs/rec 1 KiB | eoshost commit p50/p99 ms 100 B | 1 KiB | "
                  "peak RSS MiB (1 KiB) |")
        md.append("|---|---|---|---|---|---|---|---|---|---|")
        for name in ORDER:
            if name in AVROERS or not any(table.runs("throughput", name, partitions, s) for s in COPY_SIZES):
                continue
            cells = [DESCRIPTIONS[name]]
            for field, digits in (("rate", 0), ("cpu", 2), ("broker", 2)):
                for s in COPY_SIZES:
                    cells.append(fmt(table.median("throughput", name, partitions, s, field), digits))
            for s in COPY_SIZES:
                c50 = table.median("throughput", name, partitions, s, "c50")
                c99 = table.median("throughput", name, partitions, s, "c99")
                cells.append(f"{fmt(c50, 1)} / {fmt(c99, 1)}" if c50 is not None else "—")
            cells.append(fmt(table.median("throughput", name, partitions, 1024, "rss")))
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    if table.has_orders():
        md.extend(orders_section(table))
    if table.has_join():
        md.extend(join_ratio_lines(table, loads))
        md.extend(join_section(table, loads, customers))
    if table.has_windows():
        md.extend(windows_section(table, checks, records["windows"]))
    if table.has_sink():
        md.extend(sink_section(table, sinks, records["sink"]))
    if table.has_avro():
        md.extend(avro_section(table, avros, records["avro"]))
    md.append("## End-to-end latency (6 partitions; input produced at half of eoshost + identity's rate)")
    md.append("")
    md.append("From the input's produce timestamp to the moment a read_committed consumer receives the output; "
              f"3 s of warm-up left out, then {latency_seconds} s measured. CPU per record at this rate, the "
              "contender's and the broker's (which here also takes the loader's input), is in the table of "
              "every run.")
    md.append("")
    md.append("| contender | size | input rate rec/s | p50 ms | p99 ms |")
    md.append("|---|---|---|---|---|")
    for size in (100, 1024):
        for name in ORDER:
            for run in table.runs("latency", name, 6, size):
                good = ok(run)
                md.append(f"| {DESCRIPTIONS[name]} | {size} B | {run['rate']} | "
                          f"{run['p50'] if good else run['status']} | {run['p99'] if good else ''} |")
    md.append("")
    md.extend(every_run_section(table, loads))
    return "\n".join(md)


def join_ratio_lines(table, loads):
    md = ["## Join: ratio and table load (eoshost + lookup; Kafka Streams at its better thread count)", ""]
    md.append(f"    {loads.line()}")
    md.extend(f"    {line}" for line in table.ratios() if line.startswith("ratio eoshost-lookup/"))
    md.append("")
    return md


def join_markdown(table, loads, machine, records, rounds, customers):
    """bench/results/join.md: scripts/bench --join."""
    md = ["# scripts/bench --join: eoshost + lookup against Kafka Streams' GlobalKTable join", ""]
    md.append(f"Written by `scripts/bench --join`. Every contender read the same {records['join']:,} preloaded "
              f"orders of {JOIN_SIZE} B and joined each with its customer from the same compacted topic of "
              f"{customers:,} customers of {JOIN_SIZE} B, loaded whole at start. Medians of {rounds} rounds. "
              + INTRO)
    md.append("")
    md.extend(machine_section(machine))
    md.extend(join_ratio_lines(table, loads))
    md.extend(join_section(table, loads, customers))
    md.extend(every_run_section(table, loads))
    return "\n".join(md)


def windows_markdown(table, loads, checks, machine, records, rounds):
    """bench/results/windows.md: scripts/bench --windows."""
    md = ["# scripts/bench --windows: eoshost + window-count against Kafka Streams' windowed count", ""]
    md.append(f"Written by `scripts/bench --windows`. Every contender read the same {records['windows']:,} preloaded "
              f"records of {WINDOWS_SIZE} B over 6 partitions: 1,000 keys (k000 … k999), event time advancing 1 s "
              "per 1,000 records, so each key has one record a second. Each counts per key in tumbling windows of "
              "10 s (grace 0) and writes one record per key and window once the window has closed on its "
              "partition: eoshost's window-count plugin, and Kafka Streams' "
              "`groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(10 s, 0)).count()"
              ".suppress(untilWindowCloses(unbounded()))` under exactly_once_v2. Medians of "
              f"{rounds} rounds. Every contender uses a 100 ms commit interval, on one local broker; the two cores "
              "are shared with the broker, the counter and whatever else runs on the machine, so figures move "
              "from run to run; compare ratios within one run. See bench/README.md.")
    md.append("")
    md.extend(machine_section(machine))
    md.extend(windows_section(table, checks, records["windows"]))
    md.extend(every_run_section(table, loads))
    return "\n".join(md)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", required=True, choices=["quick", "full", "join", "windows", "sink", "avro"])
    parser.add_argument("--runs", required=True)
    parser.add_argument("--records-100", type=int, required=True)
    parser.add_argument("--records-1024", type=int, required=True)
    parser.add_argument("--records-200", type=int, default=0)
    parser.add_argument("--records-join", type=int, default=0)
    parser.add_argument("--customers", type=int, default=0)
    parser.add_argument("--table-loads")
    parser.add_argument("--records-windows", type=int, default=0)
    parser.add_argument("--windows-checks")
    parser.add_argument("--records-sink", type=int, default=0)
    parser.add_argument("--sink-checks")
    parser.add_argument("--records-avro", type=int, default=0)
    parser.add_argument("--avro-checks")
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--machine")
    parser.add_argument("--markdown")
    args = parser.parse_args()

    table = Table(load(args.runs))
    loads = TableLoads(args.table_loads)
    checks = WindowChecks(args.windows_checks)
    sinks = SinkChecks(args.sink_checks)
    avros = AvroChecks(args.avro_checks)
    partitions_list = {"quick": [6], "full": [6, 1, 24], "join": [], "windows": [], "sink": [], "avro": []}[args.mode]
    for line in text_summary(table, partitions_list, args.rounds, args.customers):
        print(line)
    if loads.runs:
        print(f"table load at start, {args.customers:,} customers of {JOIN_SIZE} B (median of the rounds):")
        for name in loads.names():
            print(f"  {name:<17} {fmt(loads.median(name)):>9} records/s  ({fmt(loads.median(name, 'records'))} "
                  f"records in {fmt(loads.median(name, 'seconds'), 3)} s)")
    if checks.runs:
        print("windows output, every run (read back with read_committed):")
        for line in checks.lines():
            print(line)
    if sinks.runs:
        print("sink tables, every run (checked once the input was committed):")
        for line in sinks.lines():
            print(line)
    if avros.runs:
        print("avro outputs, every run (read back with read_committed):")
        for line in avros.lines():
            print(line)
    for size in (100, 1024):
        for name in ORDER:
            for run in table.runs("latency", name, 6, size):
                print(f"latency {name} size={size}: p50 {run['p50']} ms, p99 {run['p99']} ms ({run['status']})")
    if args.markdown:
        machine = []
        with open(args.machine) as lines:
            for line in lines:
                key, _, value = line.rstrip("\n").partition("\t")
                machine.append((key, value))
        records = {100: args.records_100, 1024: args.records_1024, ORDERS_SIZE: args.records_200,
                   "join": args.records_join, "windows": args.records_windows, "sink": args.records_sink,
                   "avro": args.records_avro}
        with open(args.markdown, "w") as out:
            if args.mode == "join":
                out.write(join_markdown(table, loads, machine, records, args.rounds, args.customers))
            elif args.mode == "windows":
                out.write(windows_markdown(table, loads, checks, machine, records, args.rounds))
            elif args.mode == "sink":
                out.write(sink_markdown(table, loads, sinks, machine, records, args.rounds))
            elif args.mode == "avro":
                out.write(avro_markdown(table, loads, avros, machine, records, args.rounds))
            else:
                out.write(markdown(table, loads, checks, sinks, avros, machine, records, args.rounds,
                                   args.latency_seconds, args.customers))
        print(f"table written to {args.markdown}")
    ratios = table.ratios()
    for line in ratios:
        if line.startswith("ratio eoshost-lookup/"):
            print(loads.line())
        if line.startswith("ratio eoshost-sink/"):
            print(sinks.line(table))
        print(line)
    sys.stdout.flush()
    return 0 if all(not line.endswith("n/a") for line in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
