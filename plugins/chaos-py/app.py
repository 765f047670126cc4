"""chaos-py: a Python test plugin of the `batch-transformer` world, to prove
that records in batches (eoshost_sdk's `Batch`) get what `transform` gives
each alone: `identity`, except that a record whose value equals
`trap_on_value` raises an exception (a trap), one whose value equals
`reject_on_value` is rejected, and one whose value equals `spin_on_value`
keeps the CPU busy for `spin_ms` milliseconds first (default 100).
"""

import time

import wit_world
from componentize_py_types import Err
from eoshost_sdk import Batch, Transformer  # noqa: F401  (Batch: the `batch` export)
from wit_world.imports.types import Error_Rejected, InputRecord, OutputRecord

KEYS = ("trap_on_value", "reject_on_value", "spin_on_value", "spin_ms")
# What init read (componentize-py makes a new WitWorld for every call).
_given = {}


class WitWorld(Transformer, wit_world.WitWorld):
    def init(self, config):
        for key, value in config:
            if key not in KEYS:
                raise Err(f'unknown config key "{key}" (known: {", ".join(KEYS)})')
            _given[key] = value.encode("utf-8")
        if not _given.get("spin_ms", b"100").isdigit():
            raise Err('config key "spin_ms" must be a whole number of milliseconds')

    def transform(self, record: InputRecord):
        if record.value is not None and record.value == _given.get("spin_on_value"):
            until = time.monotonic() + int(_given.get("spin_ms", b"100")) / 1000
            while time.monotonic() < until:
                pass
        if record.value is not None and record.value == _given.get("trap_on_value"):
            raise RuntimeError("chaos-py: trap_on_value")
        if record.value is not None and record.value == _given.get("reject_on_value"):
            raise Err(Error_Rejected("chaos-py: reject_on_value"))
        return [OutputRecord(topic=None, key=record.key, value=record.value, headers=record.headers)]
