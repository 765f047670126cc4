"""lookup: the tables transform, in Python (componentize-py).

Joins each input JSON object with the value the table `table` holds under
the string field `key_field`, written to the field `as` (`null` when the key
is absent or the field is missing or not a string), like the Rust `lookup`
(plugins/lookup), byte for byte. The rules are pinned in plugins/README.md
("The lookup transform") and checked by tests/conformance/lookup/.

The tables interface (wit/transform.wit, world `table-transformer`) is
imported as `wit_world.imports.tables`: `get(table, key) -> bytes | None`,
the latest value under `key` of the table the operator named with
`--table NAME=TOPIC`. Call it only from `transform` (in `init` it traps).

Parsing: json.loads with hooks keeps every member of every object (repeats
included) and every number token as written; a small serializer writes the
compact form. Values whose brackets could nest deeper than json.loads can
go on the wasm stack take an iterative rewriter instead, with the same
result.
"""

import json
import re

import wit_world
from componentize_py_types import Err
from wit_world.imports import tables
from wit_world.imports.types import Error_Rejected, InputRecord, OutputRecord

CONFIG = (
    ("table", "the NAME of the --table NAME=TOPIC to look up"),
    ("key_field", "the input field whose string value is the key to look up"),
    ("as", "the output field that gets the table's value"),
)
# json.loads recurses in C per nesting level: past about 800 levels of
# objects the wasm stack is exhausted (a trap), past about 1000 of arrays
# Python's recursion limit is hit. Values that may nest deeper than this
# take the iterative rewriter.
MAX_FAST_NESTING = 256

# Only '"', '\' and U+0000..U+001F are escaped; everything else is written raw.
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
for _i in range(0x20):
    _ESCAPES.setdefault(chr(_i), "\\u%04x" % _i)


def _escape(m):
    return _ESCAPES[m.group()]


def quote(s):
    return '"' + _NEEDS_ESCAPE.sub(_escape, s) + '"'


class Rejected(Exception):
    pass


class Verbatim(str):
    """JSON text written out as it is: a number token, or a value already compact."""


class Obj(list):
    """A JSON object: its (key, value) members in order, repeats included."""


def _not_json(name):
    raise ValueError(name)  # NaN, Infinity, -Infinity


def dumps(v):
    t = type(v)
    if t is str:
        return quote(v)
    if t is Verbatim:
        return v
    if t is Obj:
        return "{" + ",".join([quote(k) + ":" + dumps(x) for k, x in v]) + "}"
    if t is list:
        return "[" + ",".join([dumps(x) for x in v]) + "]"
    if v is None:
        return "null"
    return "true" if v else "false"


# A lone surrogate can only come from a \uD800-\uDFFF escape in the text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(doc):
    stack = [doc]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str:
            if _SURROGATE.search(v):
                return True
        elif t is Obj:
            for k, x in v:
                stack.append(k)
                stack.append(x)
        elif t is list:
            stack.extend(v)
    return False


# --- slow path: an iterative rewriter for values nested too deeply for json.loads
_WS = re.compile(r"[ \t\n\r]*")
# Unrolled, so that long strings cost no backtracking state per character.
_STRING = re.compile(r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = (("t", "true"), ("f", "false"), ("n", "null"))


def _string_at(text, i):
    m = _STRING.match(text, i)
    if not m:
        raise ValueError("bad string")
    s = json.loads(m.group())
    if _SURROGATE.search(s):
        raise ValueError("lone surrogate")
    return s, m.end()


def _key_at(text, i):
    if not text.startswith('"', i):
        raise ValueError("expected a key")
    key, i = _string_at(text, i)
    i = _WS.match(text, i).end()
    if not text.startswith(":", i):
        raise ValueError("expected :")
    return key, i + 1


def _rewrite_deep(text):
    """The same result as _parse_fast, token by token with a stack of open
    containers: an Obj of the top-level members (values as Verbatim compact
    text, strings decoded), or the whole value as Verbatim. Raises ValueError."""
    n = len(text)
    out = []  # compact pieces of the whole value
    stack = []  # "}" or "]" per open container
    i = _WS.match(text, 0).end()
    is_object = text.startswith("{", i)
    members = Obj()
    key = None
    start = 0  # where the top-level member's value starts in out
    while True:
        # A value starts at i.
        i = _WS.match(text, i).end()
        top_member = is_object and len(stack) == 1
        if top_member:
            start = len(out)
        string = None
        c = text[i : i + 1]
        if c == "{" or c == "[":
            close = "}" if c == "{" else "]"
            out.append(c)
            stack.append(close)
            i = _WS.match(text, i + 1).end()
            if not text.startswith(close, i):
                if c == "{":
                    k, i = _key_at(text, i)
                    out.append(quote(k) + ":")
                    if is_object and len(stack) == 1:
                        key = k
                continue
            out.append(close)
            stack.pop()
            i += 1
        elif c == '"':
            s, i = _string_at(text, i)
            out.append(quote(s))
            if top_member:
                string = s
        elif c == "-" or "0" <= c <= "9":
            m = _NUMBER.match(text, i)
            if not m:
                raise ValueError("bad number")
            out.append(m.group())
            i = m.end()
        else:
            for first, word in _LITERALS:
                if c == first and text.startswith(word, i):
                    out.append(word)
                    i += len(word)
                    break
            else:
                raise ValueError("bad value")
        # The value is complete, and maybe the containers it ends.
        while True:
            if is_object and len(stack) == 1:
                members.append((key, string if string is not None else Verbatim("".join(out[start:]))))
                string = None
            i = _WS.match(text, i).end()
            if not stack:
                if i != n:
                    raise ValueError("trailing data")
                return members if is_object else Verbatim("".join(out))
            if text.startswith(",", i):
                out.append(",")
                i = _WS.match(text, i + 1).end()
                if stack[-1] == "}":
                    k, i = _key_at(text, i)
                    out.append(quote(k) + ":")
                    if is_object and len(stack) == 1:
                        key = k
                break
            if not text.startswith(stack[-1], i):
                raise ValueError("expected , or a closing bracket")
            out.append(stack.pop())
            i += 1


def _parse_fast(text):
    doc = json.loads(text, object_pairs_hook=Obj, parse_int=Verbatim, parse_float=Verbatim, parse_constant=_not_json)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(doc):
        raise ValueError("lone surrogate")
    return doc


# Any string literal, valid or not (its escapes are checked elsewhere).
_ANY_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


def _nesting_may_exceed(text, limit):
    """Whether json.loads could recurse deeper than `limit` on `text`, in
    native string operations: the brackets outside string literals, peeled
    one level a pass (innermost empty pairs removed). Brackets that do not
    pair up (in text that is not JSON) stop the peeling: then the answer is
    yes, and the iterative rewriter decides."""
    if text.count("[") + text.count("{") <= limit:
        return False
    s = _NOT_BRACKET.sub("", _ANY_STRING.sub("", text))
    for _ in range(limit):
        t = _EMPTY_PAIR.sub("", s)
        if not t:
            return False
        if t == s:
            return True
        s = t
    return True


def parse(data):
    """The JSON value of `data` (bytes): an Obj for an object, whose member
    values dumps() writes compact; raises ValueError when it is not UTF-8
    JSON (strict RFC 8259, lone surrogate escapes included)."""
    text = data.decode("utf-8")  # strict: no overlong forms, surrogates or > U+10FFFF
    if _nesting_may_exceed(text, MAX_FAST_NESTING):
        return _rewrite_deep(text)
    return _parse_fast(text)


class Lookup:
    def __init__(self, config):
        for key, _value in config:
            if key not in ("table", "key_field", "as"):
                raise Err(f'unknown config key "{key}"')
        given = dict(config)  # the last one wins
        for key, meaning in CONFIG:
            if key not in given:
                raise Err(f'config key "{key}" is required: {meaning}')
        self.table = given["table"]
        self.key_field = given["key_field"]
        self.field_as = given["as"]

    def join(self, value):
        if value is None:
            raise Rejected("value is missing")
        try:
            doc = parse(value)
        except ValueError:  # includes UnicodeDecodeError and json.JSONDecodeError
            raise Rejected("value is not valid JSON")
        if type(doc) is not Obj:
            raise Rejected("value is not a JSON object")
        fields = {}
        for k, v in doc:
            fields[k] = v  # a repeat keeps its first position, takes the last value
        key = fields.get(self.key_field)
        found = tables.get(self.table, key.encode("utf-8")) if type(key) is str else None
        if found is None:
            fields[self.field_as] = None
        else:
            try:
                fields[self.field_as] = Verbatim(dumps(parse(found)))
            except ValueError:
                raise Rejected(f"the value of key {quote(key)} in table {quote(self.table)} is not valid JSON")
        return "{" + ",".join([quote(k) + ":" + dumps(v) for k, v in fields.items()]) + "}"


class WitWorld(wit_world.WitWorld):
    def init(self, config):
        global _lookup
        _lookup = Lookup(config)

    def transform(self, record: InputRecord):
        try:
            value = _lookup.join(record.value)
        except Rejected as e:
            raise Err(Error_Rejected(str(e)))
        return [OutputRecord(topic=None, key=record.key, value=value.encode("utf-8"), headers=record.headers)]


_lookup = None
