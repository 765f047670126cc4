#!/usr/bin/env python3
"""Reference implementation of the `enrich` transform, for the conformance suite.

    python3 tests/conformance/enrich/make_expected.py \
        < tests/conformance/enrich/input.jsonl > tests/conformance/enrich/expected.jsonl

It reads the offline input format of `eoshost test` (one JSON object a line:
topic, partition, offset, timestamp, key / key_b64, value / value_b64, headers)
and prints what `eoshost test --plugin <any enrich plugin>` must print: one
line per output record, or `{"offset":N,"error":"..."}` for a rejected record
(N = the line's `offset`, else its 0-based line index).

It implements the enrich rules on its own (Python's json module with hooks
that keep number tokens as text, plus explicit checks for what that module is
lenient about), so that it is not one of the plugins checking itself.
Standard library only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference import bytes_field, dumps, json_string  # noqa: E402  (the suites' shared module)

REGIONS = {
    **{c: "EU" for c in ("DE", "FR", "NL", "ES", "IT", "PL", "SE")},
    **{c: "NA" for c in ("US", "CA", "MX")},
    **{c: "APAC" for c in ("JP", "CN", "IN", "SG", "AU", "KR")},
}
MAX = 1_000_000_000


class Rejected(Exception):
    pass


class IntToken(str):
    """A JSON number token with no fraction and no exponent, kept as text."""


class OtherNumber(str):
    """A JSON number token with a fraction or an exponent."""


def _no_constants(name):
    raise ValueError("not JSON: " + name)  # NaN, Infinity, -Infinity


def _has_lone_surrogate(v) -> bool:
    if isinstance(v, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, list):
        return any(_has_lone_surrogate(x) for x in v)
    if isinstance(v, tuple):  # (key, value) pair from object_pairs_hook
        return _has_lone_surrogate(v[0]) or _has_lone_surrogate(v[1])
    if isinstance(v, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(x) for k, x in v.items())
    return False


def _pairs(pairs):
    # Duplicates: the last one wins, but every key must still be checked for
    # lone surrogates, including the ones that lose.
    if any(_has_lone_surrogate(p) for p in pairs):
        raise ValueError("lone surrogate")
    return dict(pairs)


def parse_strict(data: bytes):
    try:
        text = data.decode("utf-8", errors="strict")  # rejects overlong, surrogates, > U+10FFFF
    except UnicodeDecodeError:
        raise Rejected("value is not valid JSON")
    if text.startswith("\ufeff"):
        raise Rejected("value is not valid JSON")
    try:
        doc = json.loads(
            text,
            parse_int=IntToken,
            parse_float=OtherNumber,
            parse_constant=_no_constants,
            object_pairs_hook=_pairs,
            strict=True,  # raw control characters in strings are errors
        )
    except (ValueError, RecursionError):
        raise Rejected("value is not valid JSON")
    if _has_lone_surrogate(doc):
        raise Rejected("value is not valid JSON")
    return doc


def want_string(obj, name):
    if name not in obj:
        raise Rejected(f'missing field "{name}"')
    v = obj[name]
    if type(v) is not str:
        raise Rejected(f'field "{name}" must be a string')
    return v


def want_int(obj, name):
    if name not in obj:
        raise Rejected(f'missing field "{name}"')
    v = obj[name]
    if type(v) is not IntToken:
        raise Rejected(f'field "{name}" must be an integer')
    digits = v[1:] if v.startswith("-") else v
    negative = v.startswith("-") and digits != "0"
    # Compare as text first so that 10^400 never becomes a Python int.
    if negative or len(digits) > 10 or int(digits) > MAX:
        raise Rejected(f'field "{name}" must be between 0 and 1000000000')
    return int(digits)


def enrich(value, headers):
    """value: bytes or None; headers: list of (key, bytes). Returns (value_bytes, headers)."""
    if value is None:
        raise Rejected("value is missing")
    doc = parse_strict(value)
    if not isinstance(doc, dict):
        raise Rejected("value is not a JSON object")
    order_id = want_string(doc, "order_id")
    customer_id = want_string(doc, "customer_id")
    country = want_string(doc, "country")
    quantity = want_int(doc, "quantity")
    unit_price = want_int(doc, "unit_price_cents")
    region = REGIONS.get(country, "OTHER")
    out = (
        '{"order_id":' + json_string(order_id)
        + ',"customer_id":' + json_string(customer_id)
        + ',"country":' + json_string(country)
        + ',"region":' + json_string(region)
        + ',"quantity":' + str(quantity)
        + ',"unit_price_cents":' + str(unit_price)
        + ',"total_cents":' + str(quantity * unit_price)
        + "}"
    )
    new_headers = [(k, v) for (k, v) in headers if k != "region"] + [("region", region.encode())]
    return out.encode("utf-8"), new_headers


def main():
    sys.setrecursionlimit(100_000)  # deeply nested values are valid JSON
    # Split on "\n" only: str.splitlines() would also split on U+2028 and friends.
    for index, raw in enumerate(sys.stdin.buffer.read().decode("utf-8").split("\n")):
        raw = raw.removesuffix("\r")
        if not raw.strip():
            continue
        line = json.loads(raw, object_pairs_hook=lambda p: p)  # keep header order
        line = dict(line)
        key = bytes_field(line, "key")
        value = bytes_field(line, "value")
        headers = [(k, v.encode("utf-8")) for k, v in (line.get("headers") or [])]
        try:
            out_value, out_headers = enrich(value, headers)
        except Rejected as e:
            print(dumps({"offset": line.get("offset", index), "error": str(e)}))
            continue
        print(
            dumps(
                {
                    "topic": None,
                    "key": None if key is None else key.decode("utf-8"),
                    "value": out_value.decode("utf-8"),
                    "headers": {k: v.decode("utf-8") for k, v in out_headers},
                }
            )
        )


if __name__ == "__main__":
    main()
