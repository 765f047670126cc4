#!/usr/bin/env python3
"""Writes the window-count conformance suite's input, one case a line:

    python3 tests/conformance/window-count/make_input.py > tests/conformance/window-count/input.jsonl
    python3 tests/conformance/window-count/make_expected.py \
        < tests/conformance/window-count/input.jsonl > tests/conformance/window-count/expected.jsonl

The plugins run with `--plugin-config size=10s --plugin-config grace=2s`.
Two partitions, each with its own stream time; keys that JSON must escape;
a window that stays open through its grace; late records; negative
timestamps; the records window-count rejects (no key, no timestamp, a key
that is not UTF-8). Standard library only.
"""
import base64
import json


def line(partition, key, timestamp, value="v", key_b64=None):
    o = {"partition": partition}
    if key is not None:
        o["key"] = key
    if key_b64 is not None:
        o["key_b64"] = base64.b64encode(key_b64).decode()
    if timestamp is not None:
        o["timestamp"] = timestamp
    o["value"] = value
    print(json.dumps(o, ensure_ascii=False, separators=(",", ":")))


S = 1_700_000_000_000  # aligned to 10 s
KEYS = ["plain", 'quo"te', "back\\slash", "tab\there", "ctl\x01\x1f", "ключ", "emoji 🎉", "line\u2028sep"]

# Partition 0: every key counts in the first window; stream time then
# crosses its end but not end + grace, so a record at end - 1 still counts.
for i, key in enumerate(KEYS):
    line(0, key, S + i * 100)
line(0, "plain", S + 11_000)          # stream time 11 s: window [0,10) open until 12 s
line(0, "plain", S + 9_999, "in grace")
line(0, "quo\"te", S + 5_000, "in grace")
line(0, "other", S + 12_000)          # stream time reaches 12 s: the first windows close
line(0, "plain", S + 1_000, "late")   # its window closed
line(0, "plain", S + 12_001)
# Partition 1 has its own stream time: the same times are not late there.
line(1, "plain", S + 1_000)
line(1, "plain", S + 2_000)
line(1, None, S + 3_000, "no key")
line(1, "plain", None, "no timestamp")
line(1, None, S + 3_000, "bad key", key_b64=b"\xff\xfe")
line(1, "neg", -1)                    # window [-10000, 0)
line(1, "neg", -10_000)
# One record far ahead closes every open window of partition 1 at once.
line(1, "far", S + 3_600_000)
line(1, "neg", -5, "late")
# Partition 0 again: many windows of one key close in time order.
for k in range(5):
    line(0, "steps", S + 20_000 + k * 10_000)
line(0, "steps", S + 200_000)
