#!/usr/bin/env python3
"""Reference implementation of the `window-count` transform (DESIGN §1.4),
for the conformance suite:

    python3 tests/conformance/window-count/make_expected.py \
        < tests/conformance/window-count/input.jsonl > tests/conformance/window-count/expected.jsonl

prints what

    eoshost test --plugin <window-count or window-count-py> \
        --plugin-config size=10s --plugin-config grace=2s --input INPUT.jsonl

must print: nothing for a record that counts; `{"offset":N,"error":"..."}`
for a rejected one; after each record, one line per window its partition's
stream time closed (end + grace reached), earliest close first, then by
timer key (the key's bytes, then the start as 8 big-endian bytes), with the
timer's `"timestamp"` E - 1. Stream time is per partition, the largest
timestamp of the records processed there, rejected ones included. Written
from the rules alone, without the plugins' code. Standard library only.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference import bytes_field, dumps, json_string  # noqa: E402  (the suites' shared module)

SIZE, GRACE = 10_000, 2_000

stream_time = {}   # partition -> largest timestamp processed
counts = {}        # (partition, key bytes, start) -> [count, end]
timers = {}        # partition -> set of (close time, timer key bytes, key bytes, start)


def emit(obj):
    print(dumps(obj))


def timer_key(key, start):
    return key + start.to_bytes(8, "big", signed=True)


for index, text in enumerate(sys.stdin):
    if not text.strip():
        continue
    line = json.loads(text)
    offset = line.get("offset", index)
    partition = line.get("partition", 0)
    t = line.get("timestamp")
    if t is not None:
        stream_time[partition] = max(stream_time.get(partition, t), t)
    key = bytes_field(line, "key")
    error = None
    if key is None:
        error = "the record has no key: window-count counts per key"
    elif t is None:
        error = "the record has no timestamp: window-count puts records in windows by timestamp"
    else:
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            error = "the record's key is not UTF-8: window-count writes it into JSON"
    if error is None:
        start = t - t % SIZE
        end = start + SIZE
        closes = end + GRACE
        now = stream_time[partition]
        if now >= closes:
            error = (
                f"late record: key {json_string(name)} window [{start}, {end}) closed at stream time {closes} "
                f"(end + grace); stream time is {now}"
            )
        else:
            slot = counts.setdefault((partition, key, start), [0, end])
            if slot[0] == 0:
                timers.setdefault(partition, set()).add((closes, timer_key(key, start), key, start))
            slot[0] += 1
    if error is not None:
        emit({"offset": offset, "error": error})
    now = stream_time.get(partition)
    if now is None:
        continue
    due = sorted(timer for timer in timers.get(partition, ()) if timer[0] <= now)
    for timer in due:
        timers[partition].discard(timer)
        _, _, key, start = timer
        count, end = counts.pop((partition, key, start))
        name = key.decode("utf-8")
        value = '{"key":' + json_string(name) + f',"start":{start},"end":{end},"count":{count}' + "}"
        emit({"topic": None, "key": name, "value": value, "headers": {}, "timestamp": end - 1})
