"""What the conformance suites' reference generators share: JSON strings
written the way every eoshost plugin writes them (only '"', '\\' and
U+0000..U+001F escaped; everything else raw). Standard library only;
imported by tests/conformance/*/make_expected.py.
"""

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
