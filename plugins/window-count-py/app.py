"""window-count: tumbling event-time windows per key, in Python
(componentize-py), like the Rust `window-count` (plugins/window-count) byte
for byte: the same outputs, the same rejections, the same configuration
errors. docs/windows-guide.md walks through both.

Counts the records of each key K in windows [S, E) of `size` (S = t - t mod
size, t the record's timestamp) and, once the partition's stream time (the
largest timestamp processed on it) reaches E + `grace`, outputs one record:
key K, value {"key":"K","start":S,"end":E,"count":N} (compact JSON in this
field order), timestamp E - 1. A record for a closed window is rejected as
late; so is a record without a key or a timestamp, or whose key is not UTF-8.

Config: `size` (required) and `grace` (default `0s`): `500ms`, `10s`, `5m`,
`1h`.

The world `timer-transformer` (wit/transform.wit) imports `state` and
`timers` (as `wit_world.imports.*`) and exports `timer-handler`, which
eoshost_sdk's `TimerHandler` hands to `WitWorld.on_timer`. componentize-py
makes a new WitWorld per call: the configuration lives in module globals.

State per partition: K + S (8 bytes, big-endian) -> the count and E (8 bytes
each, big-endian). Timers: one stream-time timer per open window, keyed like
its state, at E + grace.
"""

import re
import struct

import wit_world
from componentize_py_types import Err
from eoshost_sdk import TimerHandler, Transformer, json_string  # noqa: F401  (TimerHandler: the export)
from wit_world.imports import state, timers
from wit_world.imports.types import Error_Rejected, InputRecord, OutputRecord

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
_DURATION = re.compile(r"([0-9]*)(.*)", re.S)
_SCALE = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000}
_COUNT = struct.Struct(">Qq")  # count, end
_START = struct.Struct(">q")


def parse_duration(key, raw):
    digits, unit = _DURATION.fullmatch(raw).groups()
    scale = _SCALE.get(unit)
    # No int() of a huge digit string: past 4300 digits it raises.
    ms = int(digits) * scale if scale and digits and len(digits.lstrip("0")) <= 19 else None
    if ms is None or ms > I64_MAX:
        raise Err(f'config key "{key}" has an invalid value "{raw}"; use e.g. 500ms, 10s, 5m or 1h')
    return ms


def rejected(reason):
    return Err(Error_Rejected(reason))


class WitWorld(Transformer, wit_world.WitWorld):
    def init(self, config):
        global _size_ms, _grace_ms
        for key, _value in config:
            if key not in ("size", "grace"):
                raise Err(f'unknown config key "{key}"')
        given = dict(config)  # the last one wins
        if "size" not in given:
            raise Err('config key "size" is required: the length of a window, e.g. size=10s')
        size_ms = parse_duration("size", given["size"])
        if size_ms == 0:
            raise Err('config key "size" must be more than 0ms')
        _size_ms, _grace_ms = size_ms, parse_duration("grace", given.get("grace", "0s"))

    def transform(self, record: InputRecord):
        key, t = record.key, record.timestamp
        if key is None:
            raise rejected("the record has no key: window-count counts per key")
        if t is None:
            raise rejected("the record has no timestamp: window-count puts records in windows by timestamp")
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            raise rejected("the record's key is not UTF-8: window-count writes it into JSON")
        start = t - t % _size_ms  # Python's % is Rust's rem_euclid for a positive size
        end = start + _size_ms
        closes_at = end + _grace_ms
        if start < I64_MIN or closes_at > I64_MAX:
            raise rejected(f"the record's timestamp {t} is out of range for windows of {_size_ms}ms")
        # In `transform`, stream time already counts this record.
        stream_time = timers.stream_time()
        if stream_time is None:
            stream_time = t
        if stream_time >= closes_at:
            raise rejected(
                f"late record: key {json_string(name)} window [{start}, {end}) closed at stream time {closes_at} "
                f"(end + grace); stream time is {stream_time}"
            )
        state_key = key + _START.pack(start)
        stored = state.get(state_key)
        if stored is None:
            timers.schedule(timers.Clock.STREAM_TIME, state_key, closes_at)
            count = 0
        else:
            count = _COUNT.unpack(stored)[0]
        state.set(state_key, _COUNT.pack(count + 1, end))
        return []

    def on_timer(self, clock, key, time):
        stored = state.get(key)
        if stored is None:
            return []
        state.delete(key)
        count, end = _COUNT.unpack(stored)
        name = key[:-8].decode("utf-8")
        (start,) = _START.unpack(key[-8:])
        value = f'{{"key":{json_string(name)},"start":{start},"end":{end},"count":{count}}}'
        output = OutputRecord(topic=None, key=key[:-8], value=value.encode("utf-8"), headers=[])
        return [timers.TimerOutput(output=output, timestamp=end - 1, partition=None)]


_size_ms = None
_grace_ms = None
