#!/usr/bin/env python3
"""Reference implementation of the `lookup` transform, for the conformance suite.

    python3 tests/conformance/lookup/make_expected.py tests/conformance/lookup/customers.jsonl \
        < tests/conformance/lookup/input.jsonl > tests/conformance/lookup/expected.jsonl

It reads the table (JSONL, `key` and `value` or `value_b64`; a later row
replaces an earlier one) and the offline input format of `eoshost test` (one
JSON object a line: topic, partition, offset, timestamp, key / key_b64,
value / value_b64, headers), and prints what

    eoshost test --plugin <lookup or lookup-py> --plugin-config table=customers \
        --plugin-config key_field=customer_id --plugin-config as=customer \
        --table customers=CUSTOMERS.jsonl --input INPUT.jsonl

must print: one line per output record, or `{"offset":N,"error":"..."}` for a
rejected record (N = the line's `offset`, else its 0-based line index).

It implements the rules of plugins/README.md ("The lookup transform") on its
own, with a character-by-character recursive-descent parser that neither
plugin uses, so that it is not one of the plugins checking itself.
Standard library only.
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference import bytes_field, dumps, json_string  # noqa: E402  (the suites' shared module)

TABLE, KEY_FIELD, AS = "customers", "customer_id", "customer"


class Invalid(Exception):
    pass


class Parser:
    """RFC 8259, strictly. Values are ("object", [(key, value)...]) with every
    member kept, ("array", [...]), ("string", text), ("token", text) for
    numbers and literals, kept as written."""

    def __init__(self, text):
        self.s = text
        self.i = 0

    def fail(self):
        raise Invalid()

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def ws(self):
        while self.peek() in (" ", "\t", "\n", "\r") and self.peek() != "":
            self.i += 1

    def document(self):
        self.ws()
        v = self.value()
        self.ws()
        if self.i != len(self.s):
            self.fail()
        return v

    def value(self):
        c = self.peek()
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c == '"':
            return ("string", self.string())
        if c == "-" or c in "0123456789" and c != "":
            return ("token", self.number())
        for word in ("true", "false", "null"):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return ("token", word)
        self.fail()

    def obj(self):
        self.i += 1
        members = []
        self.ws()
        if self.peek() == "}":
            self.i += 1
            return ("object", members)
        while True:
            self.ws()
            if self.peek() != '"':
                self.fail()
            key = self.string()
            self.ws()
            if self.peek() != ":":
                self.fail()
            self.i += 1
            self.ws()
            members.append((key, self.value()))
            self.ws()
            c = self.peek()
            self.i += 1
            if c == "}":
                return ("object", members)
            if c != ",":
                self.fail()

    def arr(self):
        self.i += 1
        items = []
        self.ws()
        if self.peek() == "]":
            self.i += 1
            return ("array", items)
        while True:
            self.ws()
            items.append(self.value())
            self.ws()
            c = self.peek()
            self.i += 1
            if c == "]":
                return ("array", items)
            if c != ",":
                self.fail()

    def digits(self):
        start = self.i
        while self.peek() != "" and self.peek() in "0123456789":
            self.i += 1
        return self.i - start

    def number(self):
        start = self.i
        if self.peek() == "-":
            self.i += 1
        if self.peek() == "0":
            self.i += 1
        elif self.peek() != "" and self.peek() in "123456789":
            self.digits()
        else:
            self.fail()
        if self.peek() == ".":
            self.i += 1
            if not self.digits():
                self.fail()
        if self.peek() != "" and self.peek() in "eE":
            self.i += 1
            if self.peek() != "" and self.peek() in "+-":
                self.i += 1
            if not self.digits():
                self.fail()
        return self.s[start:self.i]

    def hex4(self):
        h = self.s[self.i:self.i + 4]
        if len(h) != 4 or any(c not in "0123456789abcdefABCDEF" for c in h):
            self.fail()
        self.i += 4
        return int(h, 16)

    def string(self):
        self.i += 1
        out = []
        simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
        while True:
            c = self.peek()
            if c == "":
                self.fail()
            self.i += 1
            if c == '"':
                return "".join(out)
            if ord(c) < 0x20:
                self.fail()
            if c != "\\":
                out.append(c)
                continue
            e = self.peek()
            self.i += 1
            if e in simple and e != "":
                out.append(simple[e])
            elif e == "u":
                code = self.hex4()
                if 0xDC00 <= code <= 0xDFFF:
                    self.fail()
                if 0xD800 <= code <= 0xDBFF:
                    if self.s[self.i:self.i + 2] != "\\u":
                        self.fail()
                    self.i += 2
                    low = self.hex4()
                    if not 0xDC00 <= low <= 0xDFFF:
                        self.fail()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                out.append(chr(code))
            else:
                self.fail()


def parse(data: bytes):
    try:
        text = data.decode("utf-8", errors="strict")  # rejects overlong, surrogates, > U+10FFFF
    except UnicodeDecodeError:
        raise Invalid()
    return Parser(text).document()


def compact(v) -> str:
    kind, body = v
    if kind == "object":
        return "{" + ",".join(json_string(k) + ":" + compact(x) for k, x in body) + "}"
    if kind == "array":
        return "[" + ",".join(compact(x) for x in body) + "]"
    if kind == "string":
        return json_string(body)
    return body


class Rejected(Exception):
    pass


def lookup(value, table):
    if value is None:
        raise Rejected("value is missing")
    try:
        doc = parse(value)
    except Invalid:
        raise Rejected("value is not valid JSON")
    if doc[0] != "object":
        raise Rejected("value is not a JSON object")
    order, last = [], {}
    for k, x in doc[1]:
        if k not in last:
            order.append(k)
        last[k] = x
    field = last.get(KEY_FIELD)
    joined = "null"
    if field is not None and field[0] == "string":
        found = table.get(field[1].encode("utf-8"))
        if found is not None:
            try:
                joined = compact(parse(found))
            except Invalid:
                raise Rejected(f"the value of key {json_string(field[1])} in table {json_string(TABLE)} is not valid JSON")
    members = [json_string(k) + ":" + (joined if k == AS else compact(last[k])) for k in order]
    if AS not in last:
        members.append(json_string(AS) + ":" + joined)
    return "{" + ",".join(members) + "}"


def jsonl(text):
    # Split on "\n" only: str.splitlines() would also split on U+2028 and friends.
    for index, raw in enumerate(text.split("\n")):
        raw = raw.removesuffix("\r")
        if raw.strip():
            yield index, dict(json.loads(raw, object_pairs_hook=lambda p: p))  # keep header order


def main():
    sys.setrecursionlimit(100_000)  # deeply nested values are valid JSON
    if len(sys.argv) != 2:
        sys.exit("usage: make_expected.py CUSTOMERS.jsonl < INPUT.jsonl")
    with open(sys.argv[1], encoding="utf-8") as f:
        table = {bytes_field(row, "key"): bytes_field(row, "value") for _, row in jsonl(f.read())}
    for index, line in jsonl(sys.stdin.buffer.read().decode("utf-8")):
        key = bytes_field(line, "key")
        try:
            value = lookup(bytes_field(line, "value"), table)
        except Rejected as e:
            print(dumps({"offset": line.get("offset", index), "error": str(e)}))
            continue
        out = {"topic": None}
        try:
            out["key"] = None if key is None else key.decode("utf-8")
        except UnicodeDecodeError:
            out["key_b64"] = base64.b64encode(key).decode()
            out["key"] = None
        out["value"] = value
        out["headers"] = dict(line.get("headers") or [])
        print(dumps(out))


if __name__ == "__main__":
    main()
