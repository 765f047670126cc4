"""The `quix` contender of scripts/bench: a Quix Streams application that
enriches each order with the same Python function as eoshost's `enrich-py`
plugin (plugins/enrich-py/enrich_order.py), run here in native CPython.

Exactly-once (Quix's Kafka transactions), a commit every --commit-ms, values
as raw bytes in and out (no JSON serde: enrich_value parses and writes the
JSON itself), the key passed through, and a `region` header set as the
plugin sets it (Quix's set_headers). A rejected order (enrich_order.Rejected)
stops the application, Quix's default for an error in a callback; every
order the bench loads is valid.

Run by scripts/bench with the venv's python, so that this process is the one
whose CPU is counted; it stops on SIGTERM.
"""

import argparse
import pathlib
import sys

from quixstreams import Application

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "plugins" / "enrich-py"))
from enrich_order import enrich_value  # noqa: E402  (after its directory is on sys.path)


def with_region(enriched, _key, _timestamp, headers):
    """The input's headers with `region` replaced, as the plugin writes them."""
    _value, region = enriched
    return [header for header in headers if header[0] != "region"] + [("region", region.encode())]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--commit-ms", type=int, default=100)
    parser.add_argument("--state-dir", required=True, help="where Quix keeps state (it makes the directory; this app keeps none)")
    args = parser.parse_args()

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        commit_interval=args.commit_ms / 1000,
        processing_guarantee="exactly-once",
        state_dir=args.state_dir,
        loglevel="WARNING",
    )
    # Values as bytes; keys are bytes by Quix's default, so they pass through.
    orders = app.dataframe(app.topic(args.input, value_deserializer="bytes"))
    # enrich_value returns (value, region); the header step needs the region,
    # the output only the value.
    orders = orders.apply(enrich_value).set_headers(with_region).apply(lambda enriched: enriched[0])
    orders.to_topic(app.topic(args.output, value_serializer="bytes"))
    app.run()


if __name__ == "__main__":
    main()
