"""The `enrich` rules in plain Python, with no eoshost types: parses an order
(a JSON object), adds `region` and `total_cents`, and writes compact JSON with
a fixed key order. The rules are pinned in plugins/README.md and checked by
tests/conformance/enrich/. app.py wraps them as an eoshost plugin; the Quix
Streams contender of scripts/bench runs the same function in native CPython.
"""

import json
import re


REGIONS = {
    "DE": "EU", "FR": "EU", "NL": "EU", "ES": "EU", "IT": "EU", "PL": "EU", "SE": "EU",
    "US": "NA", "CA": "NA", "MX": "NA",
    "JP": "APAC", "CN": "APAC", "IN": "APAC", "SG": "APAC", "AU": "APAC", "KR": "APAC",
}
MAX = 1_000_000_000
MAX_FAST_NESTING = 256

# Only '"', '\' and U+0000..U+001F are escaped; everything else is written raw.
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
for _i in range(0x20):
    _ESCAPES.setdefault(chr(_i), "\\u%04x" % _i)


def quote(s):
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group()], s) + '"'


class Rejected(Exception):
    pass


class IntToken(str):
    """A number token without fraction or exponent, kept as its text."""


class OtherNumber(str):
    """A number token with a fraction or an exponent."""


class _Other:
    """Any other JSON value (object, array, bool, null) of a member we read."""


OTHER = _Other()


def _bad_constant(name):
    raise ValueError(name)  # NaN, Infinity, -Infinity are not JSON


def _last_wins(pairs):
    return dict(pairs)


# A lone surrogate can only come from a \uD800-\uDFFF escape in the text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _has_lone_surrogate(doc):
    stack = [doc]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            for ch in v:
                if "\ud800" <= ch <= "\udfff":
                    return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
    return False


# --- slow path: an iterative parser for documents nested too deeply for json.loads
_WS = re.compile(r"[ \t\n\r]*")
# Unrolled, so that long strings cost no backtracking state per character.
_STRING = re.compile(r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _parse_deep(text):
    """Returns a dict of the top-level members (values of nested containers are
    replaced by OTHER), or a non-dict for other documents. Raises ValueError."""
    n = len(text)
    i = _WS.match(text, 0).end()
    stack = []  # "o" or "a"
    top = None
    members = {}
    key = None

    def string_at(i):
        m = _STRING.match(text, i)
        if not m:
            raise ValueError("bad string")
        s = json.loads(m.group())
        if any("\ud800" <= ch <= "\udfff" for ch in s):
            raise ValueError("lone surrogate")
        return s, m.end()

    while True:
        # a value starts at i
        if i >= n:
            raise ValueError("eof")
        c = text[i]
        capture = len(stack) == 1 and stack[0] == "o"
        if c == "{" or c == "[":
            if not stack:
                top = {} if c == "{" else []
            elif capture:
                members[key] = OTHER
            stack.append("o" if c == "{" else "a")
            i = _WS.match(text, i + 1).end()
            close = "}" if c == "{" else "]"
            if i < n and text[i] == close:
                stack.pop()
                i += 1
            elif c == "{":
                key, i = _member_key(text, i, string_at)
                continue
            else:
                continue
        elif c == '"':
            s, i = string_at(i)
            if not stack:
                top = s
            elif capture:
                members[key] = s
        elif c == "-" or "0" <= c <= "9":
            m = _NUMBER.match(text, i)
            if not m:
                raise ValueError("bad number")
            tok = m.group()
            i = m.end()
            if not stack:
                top = 0
            elif capture:
                members[key] = OtherNumber(tok) if (m.group(1) or m.group(2)) else IntToken(tok)
        else:
            for lit in ("true", "false", "null"):
                if text.startswith(lit, i):
                    i += len(lit)
                    break
            else:
                raise ValueError("bad literal")
            if not stack:
                top = None
            elif capture:
                members[key] = OTHER
        # after a value
        while True:
            i = _WS.match(text, i).end()
            if not stack:
                if i != n:
                    raise ValueError("trailing data")
                return members if isinstance(top, dict) else top
            if i < n and text[i] == ",":
                i = _WS.match(text, i + 1).end()
                if stack[-1] == "o":
                    key, i = _member_key(text, i, string_at)
                break
            if i < n and text[i] == ("}" if stack[-1] == "o" else "]"):
                stack.pop()
                i += 1
                continue
            raise ValueError("expected , or close")


def _member_key(text, i, string_at):
    if i >= len(text) or text[i] != '"':
        raise ValueError("expected key")
    key, i = string_at(i)
    i = _WS.match(text, i).end()
    if i >= len(text) or text[i] != ":":
        raise ValueError("expected :")
    return key, _WS.match(text, i + 1).end()


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _nesting_may_exceed(text, limit):
    """An upper-bound-ish estimate of the nesting depth, in native string
    operations: strip all but brackets, then peel empty pairs off, one level
    per pass. Brackets inside strings can only make it err on the deep side."""
    if text.count("[") + text.count("{") <= limit:
        return False
    s = _NOT_BRACKET.sub("", text)
    for _ in range(limit):
        t = s.replace("[]", "").replace("{}", "")
        if t == s:
            return False
        s = t
    return bool(s)


def parse(value):
    try:
        text = value.decode("utf-8")  # strict: no overlong forms, surrogates or > U+10FFFF
        # json.loads recurses in C per nesting level; deep enough nesting
        # exhausts the wasm stack (a trap) before Python notices. Documents
        # that could be nested that deep go to the iterative parser.
        if _nesting_may_exceed(text, MAX_FAST_NESTING):
            return _parse_deep(text)
        try:
            doc = json.loads(
                text,
                parse_int=IntToken,
                parse_float=OtherNumber,
                parse_constant=_bad_constant,
                object_pairs_hook=_last_wins,
            )
        except RecursionError:
            return _parse_deep(text)
        # Rare: look again, keeping every member (duplicates too) as pairs.
        if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(json.loads(text, object_pairs_hook=list)):
            raise ValueError("lone surrogate")
        return doc
    except ValueError:  # includes UnicodeDecodeError and json.JSONDecodeError
        raise Rejected("value is not valid JSON")


def string_field(obj, name):
    if name not in obj:
        raise Rejected(f'missing field "{name}"')
    v = obj[name]
    if type(v) is not str:
        raise Rejected(f'field "{name}" must be a string')
    return v


def int_field(obj, name):
    if name not in obj:
        raise Rejected(f'missing field "{name}"')
    v = obj[name]
    if type(v) is not IntToken:
        raise Rejected(f'field "{name}" must be an integer')
    digits = v[1:] if v[0] == "-" else v
    if (v[0] == "-" and digits != "0") or len(digits) > 10 or int(digits) > MAX:
        raise Rejected(f'field "{name}" must be between 0 and 1000000000')
    return int(digits)


def enrich_value(value):
    """The enriched order (compact JSON, UTF-8) and its region, for an order's
    value (bytes, or None for a tombstone). Raises Rejected."""
    if value is None:
        raise Rejected("value is missing")
    doc = parse(value)
    if not isinstance(doc, dict):
        raise Rejected("value is not a JSON object")
    order_id = string_field(doc, "order_id")
    customer_id = string_field(doc, "customer_id")
    country = string_field(doc, "country")
    quantity = int_field(doc, "quantity")
    unit_price = int_field(doc, "unit_price_cents")
    region = REGIONS.get(country, "OTHER")
    out = "".join((
        '{"order_id":', quote(order_id),
        ',"customer_id":', quote(customer_id),
        ',"country":', quote(country),
        ',"region":"', region,
        '","quantity":', str(quantity),
        ',"unit_price_cents":', str(unit_price),
        ',"total_cents":', str(quantity * unit_price), "}",
    ))
    return out.encode("utf-8"), region
