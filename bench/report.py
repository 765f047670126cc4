#!/usr/bin/env python3
"""Summary of one scripts/bench run: medians per contender and case, the
ratio lines (printed last), and in the full run the markdown table
bench/results/latest.md.

Input: the runs file scripts/bench writes, one tab-separated line per run:
kind name partitions size round rate cpu_us p50_ms p99_ms commit_p50_ms
commit_p99_ms peak_rss_mib status ("-" where a figure does not apply; for a latency run,
rate is the input rate it was fed at).
"""

import argparse
import statistics
import sys

FIELDS = ["kind", "name", "partitions", "size", "round", "rate", "cpu", "p50", "p99", "c50", "c99", "rss", "status"]

DESCRIPTIONS = {
    "eoshost-identity": "eoshost + identity.wasm",
    "eoshost-enrich": "eoshost + enrich.wasm",
    "kstreams-1": "Kafka Streams exactly_once_v2, mapValues, 1 thread",
    "kstreams-2": "Kafka Streams exactly_once_v2, mapValues, 2 threads",
    "eos-guide": "the guide's exactly-once processor (one transaction per poll)",
    "alo": "at-least-once Java copy, offsets every 100 ms",
    "producer-perf": "ProducerPerformance, 100 ms transactions (reference, no input)",
}
ORDER = list(DESCRIPTIONS)


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

    def kstreams(self, partitions, size):
        """Kafka Streams at its better thread count: (name, median rate)."""
        best = (None, None)
        for name in ("kstreams-1", "kstreams-2"):
            rate = self.median("throughput", name, partitions, size, "rate")
            if rate is not None and (best[1] is None or rate > best[1]):
                best = (name, rate)
        return best

    def ratios(self):
        lines = []
        for peer in ("kstreams", "alo"):
            for size in (100, 1024):
                ours = self.median("throughput", "eoshost-identity", 6, size, "rate")
                theirs = self.kstreams(6, size)[1] if peer == "kstreams" else \
                    self.median("throughput", "alo", 6, size, "rate")
                value = f"{ours / theirs:.2f}" if ours and theirs else "n/a"
                lines.append(f"ratio eoshost/{peer} size={size} {value}")
        return lines


def fmt(value, digits=0, unit=""):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{unit}"


def text_summary(table, partitions_list, sizes, rounds):
    out = []
    for partitions in partitions_list:
        for size in sizes:
            names = [n for n in ORDER if table.runs("throughput", n, partitions, size)]
            if not names:
                continue
            out.append(f"{partitions} partitions, {size} B values (median of {rounds} rounds):")
            for name in names:
                rate = table.median("throughput", name, partitions, size, "rate")
                cpu = table.median("throughput", name, partitions, size, "cpu")
                c50 = table.median("throughput", name, partitions, size, "c50")
                c99 = table.median("throughput", name, partitions, size, "c99")
                ok = table.ok_count("throughput", name, partitions, size)
                all_rates = ", ".join(r["rate"] for r in table.runs("throughput", name, partitions, size))
                rss = table.median("throughput", name, partitions, size, "rss")
                line = f"  {name:<17} {fmt(rate):>9} records/s  {fmt(cpu, 2):>6} µs CPU/record  {fmt(rss):>4} MiB peak"
                if c50 is not None:
                    line += f"  commit p50/p99 {fmt(c50, 1)}/{fmt(c99, 1)} ms"
                line += f"  [{ok} ok: {all_rates}]"
                out.append(line)
    return out


def markdown(table, machine, records, rounds, latency_seconds):
    md = ["# scripts/bench: eoshost against its peers", ""]
    md.append("Written by `scripts/bench` (the full run). Throughput is records/s from the first committed "
              "output to the last, counted back by a read_committed consumer; CPU is the contender "
              "process's utime + stime over the same window, per record. Every contender read the same "
              f"preloaded orders ({records[100]:,} of 100 B, {records[1024]:,} of 1 KiB), with a 100 ms commit "
              f"interval, on one local broker. Medians of {rounds} rounds. The two cores are shared with the "
              "broker, the counter and whatever else runs on the machine, so figures move from run to run; "
              "compare ratios within one run. See bench/README.md.")
    md.append("")
    md.append("## Machine")
    md.append("")
    md.append("| | |")
    md.append("|---|---|")
    for key, value in machine:
        md.append(f"| {key} | {value} |")
    md.append("")
    md.append("## Ratios (6 partitions, eoshost + identity; Kafka Streams at its better thread count)")
    md.append("")
    md.extend(f"    {line}" for line in table.ratios())
    md.append("")
    for partitions in (6, 1, 24):
        if not any(key[0] == "throughput" and key[2] == partitions for key in table.groups):
            continue
        md.append(f"## Throughput, {partitions} partition{'s' if partitions > 1 else ''}")
        md.append("")
        md.append("| contender | 100 B rec/s | 1 KiB rec/s | CPU µs/rec 100 B | CPU µs/rec 1 KiB | "
                  "eoshost commit p50/p99 ms 100 B | 1 KiB | peak RSS MiB (1 KiB) |")
        md.append("|---|---|---|---|---|---|---|---|")
        for name in ORDER:
            if not any(table.runs("throughput", name, partitions, s) for s in (100, 1024)):
                continue
            cells = [DESCRIPTIONS[name]]
            for s in (100, 1024):
                cells.append(fmt(table.median("throughput", name, partitions, s, "rate")))
            for s in (100, 1024):
                cells.append(fmt(table.median("throughput", name, partitions, s, "cpu"), 2))
            for s in (100, 1024):
                c50 = table.median("throughput", name, partitions, s, "c50")
                c99 = table.median("throughput", name, partitions, s, "c99")
                cells.append(f"{fmt(c50, 1)} / {fmt(c99, 1)}" if c50 is not None else "—")
            cells.append(fmt(table.median("throughput", name, partitions, 1024, "rss")))
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    md.append("## End-to-end latency (6 partitions; input produced at half of eoshost + identity's rate)")
    md.append("")
    md.append("From the input's produce timestamp to the moment a read_committed consumer receives the output; "
              f"3 s of warm-up left out, then {latency_seconds} s measured. CPU per record at this rate is in "
              "the table of every run.")
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
    md.append("## Every run")
    md.append("")
    md.append("| kind | contender | partitions | size | round | rec/s | CPU µs/rec | p50 ms | p99 ms | "
              "commit p50 ms | commit p99 ms | peak RSS MiB | status |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for runs in table.groups.values():
        for run in runs:
            md.append("| " + " | ".join(str(run[f]) for f in FIELDS) + " |")
    md.append("")
    return "\n".join(md)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", required=True, choices=["quick", "full"])
    parser.add_argument("--runs", required=True)
    parser.add_argument("--records-100", type=int, required=True)
    parser.add_argument("--records-1024", type=int, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--machine")
    parser.add_argument("--markdown")
    args = parser.parse_args()

    table = Table(load(args.runs))
    partitions_list = [6] if args.mode == "quick" else [6, 1, 24]
    for line in text_summary(table, partitions_list, (100, 1024), args.rounds):
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
        with open(args.markdown, "w") as out:
            out.write(markdown(table, machine, {100: args.records_100, 1024: args.records_1024}, args.rounds,
                               args.latency_seconds))
        print(f"table written to {args.markdown}")
    ratios = table.ratios()
    for line in ratios:
        print(line)
    sys.stdout.flush()
    return 0 if all(not line.endswith("n/a") for line in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
