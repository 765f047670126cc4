"""What the conformance suites' generators share: the offline record lines
of `eoshost test` (written by make_input.py, read by make_expected.py) and
JSON written the way every eoshost plugin and `eoshost test` write it (only
'"', '\\' and U+0000..U+001F escaped; everything else raw; keys in insertion
order). Standard library only; imported by tests/conformance/*/make_*.py.
"""

import base64
import json

SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def json_string(s: str) -> str:
    """Minimal JSON string escaping: only '"', '\\' and U+0000..U+001F."""
    out = ['"']
    for ch in s:
        if ch in SHORT_ESCAPES:
            out.append(SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dumps(o) -> str:
    """Compact JSON with minimal escaping and insertion key order (like serde_json)."""
    if o is None:
        return "null"
    if isinstance(o, bool):
        return "true" if o else "false"
    if isinstance(o, int):
        return str(o)
    if isinstance(o, str):
        return json_string(o)
    if isinstance(o, list):
        return "[" + ",".join(dumps(v) for v in o) + "]"
    if isinstance(o, dict):
        return "{" + ",".join(json_string(k) + ":" + dumps(v) for k, v in o.items()) + "}"
    raise TypeError(type(o))


def bytes_field(line, name):
    """The bytes of an input line's `name` (UTF-8 text) or `name_b64`, or None."""
    if name in line:
        return line[name].encode("utf-8")
    if name + "_b64" in line:
        return base64.b64decode(line[name + "_b64"], validate=True)
    return None


def record_line(name, value=None, value_b64=None, headers=None, key=True, extra=None):
    """One input line: the record keyed `name` (the case's name) unless
    `key` is false, with `value` text or `value_b64` bytes, `headers` and
    any `extra` fields first."""
    o = {}
    if extra:
        o.update(extra)
    if key:
        o["key"] = name
    if value is not None:
        o["value"] = value
    if value_b64 is not None:
        o["value_b64"] = base64.b64encode(value_b64).decode()
    if headers is not None:
        o["headers"] = headers
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))
