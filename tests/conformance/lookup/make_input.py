#!/usr/bin/env python3
"""Writes the lookup conformance suite's input, one case a line, and its table:

    python3 tests/conformance/lookup/make_input.py > tests/conformance/lookup/input.jsonl
    python3 tests/conformance/lookup/make_input.py --table > tests/conformance/lookup/customers.jsonl
    python3 tests/conformance/lookup/make_expected.py tests/conformance/lookup/customers.jsonl \
        < tests/conformance/lookup/input.jsonl > tests/conformance/lookup/expected.jsonl

The plugins run with `--plugin-config table=customers --plugin-config
key_field=customer_id --plugin-config as=customer --table
customers=tests/conformance/lookup/customers.jsonl`. Each case's record key
names it, so a diff of `eoshost test` output against expected.jsonl shows
which case broke (rejections print only their offset: the 0-based line
number, unless the line sets `offset`). Each table row's key names what it
holds. Tombstones (no value) cannot be written in the offline format and are
not covered here. Standard library only.
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference import record_line  # noqa: E402  (the suites' shared module)


def dumps(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


def b64(data):
    return base64.b64encode(data).decode()


# --- the table `customers`: key -> value text (or bytes, written as value_b64)
DEEP = "[" * 750 + '{"a":' * 750 + "1.5e3" + "}" * 750 + "]" * 750


def nested(depth):
    """`depth` levels of objects and arrays in turn, around one number."""
    return "".join('{"a":' if i % 2 else "[" for i in range(depth)) + "1" + \
        "".join("}" if i % 2 else "]" for i in reversed(range(depth)))


# 1200 levels of arrays, though the brackets alone (strings included) nest
# only 200 deep: each string closes what the next group opens.
HIDDEN_DEEP = ("[" * 200 + '"' + "]" * 200 + '",') * 6 + "1" + (',"' + "[" * 200 + '"' + "]" * 200) * 6
TABLE = [
    ("c-1", '{"name":"Ada Lovelace","tier":"gold","since":1843}'),
    ("c-ws", ' \t{ "name" : "Spaced Out" ,\r\n "tags" : [ "a" , "b" , [ ] , { } ] }\n'),
    ("c-nested", '{"address":{"city":"Zürich","geo":{"lat":47.3769,"lon":8.5417}},"orders":[1,2,[3,{"x":null}]]}'),
    ("c-repeated-members", '{"id":1,"id":2,"x":{"k":true,"k":false}}'),
    ("c-escapes", '{"note":"quote \\" backslash \\\\ slash \\/ \\u00e9 \\ud83d\\ude00 \\uD834\\uDD1E'
                  ' \\b\\f\\n\\r\\t \\u0001 \\u001F \\u007f \\u2028 \\u0041"}'),
    ("c-unicode", '{"name":"Zoë Ærø – 東京 😀 𝄞","raw":"\u2028\u2029\u007f<>&\'/"}'),
    ("c-numbers", "[0,-0,0.0,1.50,1e5,1E+05,-2.5e-7,123456789012345678901234567890,"
                  "-98765432109876543210.123e-45,1e999999,9007199254740993]"),
    ("c-string", '"just a string"'),
    ("c-number", " 42 "),
    ("c-null", "null"),
    ("c-true", "true"),
    ("c-array", "[ ]"),
    ("c-empty-object", "{ }"),
    ("c-deep", DEEP),
    ("c-deep-hidden-by-string-brackets", HIDDEN_DEEP),
    ("ключ-😀", '{"found":"by a non-ASCII key"}'),
    ("", '{"found":"by the empty key"}'),
    ("c-dup", '{"v":"older"}'),
    ("c-dup", '{"v":"latest"}'),  # a later row replaces an earlier one
    # values that are not JSON
    ("c-not-json", "not json {"),
    ("c-trailing-data", '{"a":1} x'),
    ("c-lone-surrogate", '{"a":"\\ud800"}'),
    ("c-bad-utf8", b'{"a":"\xff"}'),
    ("c-empty", ""),
    ("c-nan", '{"a":NaN}'),
    ("c-single-quotes", "{'a':1}"),
    ("c-deep-unclosed", DEEP[:-1]),
    ('bad "quoted" \\ key\nwith a newline', "{"),
]


def table_lines():
    lines = []
    for key, value in TABLE:
        if isinstance(value, bytes):
            lines.append(dumps({"key": key, "value_b64": b64(value)}))
        else:
            lines.append(dumps({"key": key, "value": value}))
    return lines


# --- the input records
lines = []


def rec(*case, **fields):
    lines.append(record_line(*case, **fields))


class Raw(str):
    """JSON text to write as it is."""


def order(customer, before="", after=""):
    """An order whose customer_id is `customer` (a str, quoted; or Raw JSON text)."""
    if not isinstance(customer, Raw):
        customer = json.dumps(customer, ensure_ascii=False)
    return '{"order_id":"o-1"' + before + ',"customer_id":' + customer + ',"quantity":2' + after + "}"


# found: the table's value, written compact, appended last
rec("found-appended", order("c-1"))
rec("found-table-value-whitespace-dropped", order("c-ws"))
rec("found-nested", order("c-nested"))
rec("found-nested-members-kept-as-written", order("c-repeated-members"))
rec("found-escapes-rewritten", order("c-escapes"))
rec("found-unicode-raw", order("c-unicode"))
rec("found-numbers-as-written", order("c-numbers"))
rec("found-string", order("c-string"))
rec("found-number", order("c-number"))
rec("found-null", order("c-null"))
rec("found-true", order("c-true"))
rec("found-array", order("c-array"))
rec("found-empty-object", order("c-empty-object"))
rec("found-deep-table-value", order("c-deep"))
rec("found-deep-table-value-hidden-by-string-brackets", order("c-deep-hidden-by-string-brackets"))
rec("found-non-ascii-key", order("ключ-😀"))
rec("found-non-ascii-key-escaped", order(Raw('"\\u043a\\u043b\\u044e\\u0447-\\ud83d\\ude00"')))
rec("found-empty-key", order(""))
rec("found-latest-of-a-repeated-table-key", order("c-dup"))
rec("found-key-with-escapes", order(Raw('"c\\u002d\\u0031"')))

# absent: null
rec("absent-key", order("c-404"))
rec("absent-case-sensitive", order("C-1"))
rec("absent-padded", order(" c-1"))
rec("absent-prefix", order("c"))

# key_field missing or not a string: null, no lookup
rec("missing-field", '{"order_id":"o-1"}')
rec("empty-object", "{}")
rec("empty-object-whitespace", " { \n } ")
rec("field-number", order(Raw("1")))
rec("field-null", order(Raw("null")))
rec("field-true", order(Raw("true")))
rec("field-array", order(Raw('["c-1"]')))
rec("field-object", order(Raw('{"id":"c-1"}')))
rec("field-only-nested", '{"meta":{"customer_id":"c-1"},"order_id":"o-1"}')
rec("field-name-case-sensitive", '{"Customer_id":"c-1"}')

# `as` already present: replaced in place
rec("as-present-replaced-in-place", '{"customer":"stale","customer_id":"c-1","z":1}')
rec("as-present-absent-key", '{"customer":{"old":1},"customer_id":"c-404"}')
rec("as-present-missing-field", '{"a":1,"customer":[1,2],"b":2}')
rec("as-present-repeated", '{"customer":1,"customer_id":"c-1","customer":2,"z":0}')
rec("as-present-escaped-name", '{"\\u0063ustomer":"stale","customer_id":"c-1"}')
rec("as-present-holding-a-key-is-not-the-key-field", '{"x":0,"customer":"c-1"}')

# repeated top-level fields: first position, last value
rec("repeated-field-first-position-last-value", '{"a":1,"b":2,"a":{"v":3},"customer_id":"c-404","b":[]}')
rec("repeated-key-field-last-wins", '{"customer_id":"c-404","x":1,"customer_id":"c-1"}')
rec("repeated-key-field-last-not-string", '{"customer_id":"c-1","customer_id":7}')
rec("repeated-key-field-escaped", '{"customer_id":"c-404","customer_\\u0069d":"c-1"}')
rec("repeated-field-same-value-spelled-differently", '{"n":1.0,"n":1,"s":"\\u0041","s":"A","customer_id":"c-1"}')

# the input rewritten compact
rec("input-whitespace-dropped", ' \t{ "customer_id" : "c-1" ,\n "n" : [ 1 , 2 , { } , [ ] ] } \r\n')
rec("input-numbers-as-written",
    '{"customer_id":"c-404","a":1.50,"b":1e5,"c":-0,"d":123456789012345678901234567890,"e":1E+05,'
    '"f":-2.5E-7,"g":0.0,"h":-0.0e-0,"i":1e999999,"j":9007199254740993}')
rec("input-escapes-rewritten",
    '{"customer_id":"c-404","s":"\\u00e9\\u00E9\\/\\u0041\\ud83d\\ude00\\uD834\\uDD1E","c":"\\u0000\\u001f\\u001F'
    '\\b\\f\\n\\r\\t\\u000b\\u007f\\u2028","q":"\\"\\\\"}')
rec("input-raw-unicode", order("c-404", before=',"name":"Zoë Ærø – 東京 😀 𝄞","raw":"\u2028\u2029\u007f<>&\'/"'))
rec("input-escaped-key-names", '{"\\u006frder_id":"o","\\"quoted\\"":1,"\\u0000":2,"":3,"customer\\u005fid":"c-1"}')
rec("input-nested-members-kept-as-written", '{"m":{"x":1,"x":2,"y":{"z":[],"z":{}}},"customer_id":"c-404"}')
rec("input-empty-strings", '{"":"","customer_id":"c-404"}')
# deep nesting is valid JSON (RFC 8259 sets no depth limit; these plugins set none either)
rec("input-deep-nesting", order("c-1", after=',"deep":' + DEEP))
rec("input-deep-nesting-top-level-array", "[" * 1500 + "]" * 1500)
rec("input-deep-nesting-unclosed", order("c-1", after=',"deep":' + DEEP[:-1]))
# values nesting 255, 256 and 257 levels: both sides of lookup-py's json.loads limit
for depth in (255, 256, 257):
    rec(f"input-nesting-{depth}", order("c-1", after=',"n":' + nested(depth - 1)))
# brackets in strings that would hide 1200 levels from a count of brackets
rec("input-deep-nesting-hidden-by-string-brackets", order("c-1", after=',"deep":' + HIDDEN_DEEP))
rec("input-deep-nesting-mismatched-brackets", order("c-1", after=',"deep":' + "[" * 1200 + "}" + "]" * 1199))
rec("input-deep-nesting-unterminated-string", order("c-1", after=',"deep":' + "[" * 1200 + '"abc'))
# many brackets but shallow (lookup-py's slow path), with the tricky bits
pad = ',"pad":[' + ",".join(["[]"] * 150 + ["{}"] * 150) + "]"
rec("many-brackets-escapes-repeats",
    '{"a":"\\u00e9\\ud83d\\ude00\\n\\/","customer_id":"c-404","a":[1.50,{"k":1,"k":2}],"customer_id":"c-1",'
    '"n":-0' + pad + "}")
rec("many-brackets-lone-surrogate", '{"a":"\\udc00","customer_id":"c-1"' + pad + "}")
rec("many-brackets-not-object", pad[7:])
rec("many-brackets-not-json", '{"customer_id":"c-1"' + pad + ",}")
rec("many-brackets-table-value-not-json", '{"customer_id":"c-deep-unclosed"' + pad + "}")

# key, headers and record fields pass through
rec("headers-pass-through", order("c-1"), headers={"trace": "t1", "customer": "header, not field", "ключ": "😀"})
lines.append(dumps({"topic": "orders", "partition": 3, "offset": 7, "timestamp": 1700000000000,
                    "key": "full-record", "value": order("c-1"), "headers": {"h": "v"}}))
rec("no-key", order("c-1"), key=False)
rec("", order("c-1"))  # the empty key is a key
lines.append(dumps({"key_b64": b64(b"\xff\x00bytes-key"), "value": order("c-1")}))
rec("valid-utf8-via-b64", value_b64=order("c-1", before=',"note":"b64 ✓"').encode())

# rejected: a table value that is not JSON, naming table and key
rec("table-value-not-json", order("c-not-json"))
rec("table-value-trailing-data", order("c-trailing-data"))
rec("table-value-lone-surrogate", order("c-lone-surrogate"))
rec("table-value-bad-utf8", order("c-bad-utf8"))
rec("table-value-empty", order("c-empty"))
rec("table-value-nan", order("c-nan"))
rec("table-value-single-quotes", order("c-single-quotes"))
rec("table-value-deep-unclosed", order("c-deep-unclosed"))
rec("table-value-not-json-key-escaped-in-reason", order('bad "quoted" \\ key\nwith a newline'))
rec("table-value-not-json-but-input-not-json-first", order("c-not-json", after=","))

# rejected: not an object
rec("not-object-array", '[{"customer_id":"c-1"}]')
rec("not-object-empty-array", "[]")
rec("not-object-string", '"{\\"customer_id\\":\\"c-1\\"}"')
rec("not-object-number", "42")
rec("not-object-big-number", "123456789012345678901234567890")
rec("not-object-null", "null")
rec("not-object-true", " true ")

# rejected: not JSON
rec("json-empty", "")
rec("json-whitespace-only", " \n\t")
rec("json-garbage", "customer_id=c-1")
rec("json-trailing-garbage", order("c-1") + " x")
rec("json-two-objects", order("c-1") + "{}")
rec("json-trailing-comma", order("c-1", after=","))
rec("json-leading-zero", order("c-1", after=',"x":01'))
rec("json-nan", order("c-1", after=',"x":NaN'))
rec("json-infinity", order("c-1", after=',"x":Infinity'))
rec("json-minus-infinity", order("c-1", after=',"x":-Infinity'))
rec("json-plus-sign", order("c-1", after=',"x":+1'))
rec("json-bare-fraction", order("c-1", after=',"x":.5'))
rec("json-dangling-dot", order("c-1", after=',"x":1.'))
rec("json-dangling-exponent", order("c-1", after=',"x":1e'))
rec("json-lone-minus", order("c-1", after=',"x":-'))
rec("json-hex", order("c-1", after=',"x":0x10'))
rec("json-non-ascii-digit", order("c-1", after=',"x":\u0661'))
rec("json-lone-high-surrogate", order("c-1", after=',"x":"\\ud800"'))
rec("json-lone-low-surrogate", order("c-1", after=',"x":"\\udc00"'))
rec("json-high-surrogate-then-bmp", order("c-1", after=',"x":"\\ud83d\\u0041"'))
rec("json-high-surrogate-then-escape", order("c-1", after=',"x":"\\ud83d\\n"'))
rec("json-high-surrogate-at-end", order("c-1", after=',"x":"\\ud83d"'))
rec("json-lone-surrogate-in-key", order("c-1", after=',"\\ud800":1'))
rec("json-lone-surrogate-in-nested-value", order("c-1", after=',"x":[{"y":"\\udfff"}]'))
rec("json-lone-surrogate-overridden-by-repeat", '{"a":"\\ud800","a":"ok","customer_id":"c-1"}')
rec("json-lone-surrogate-in-key-field", order(Raw('"\\ud800"')))
rec("json-raw-control-in-string", order("c-1", after=',"x":"a\u0001b"'))
rec("json-raw-newline-in-string", order("c-1", after=',"x":"a\nb"'))
rec("json-raw-tab-in-string", order("c-1", after=',"x":"a\tb"'))
rec("json-bad-escape", order("c-1", after=',"x":"\\x41"'))
rec("json-escape-zero", order("c-1", after=',"x":"a\\0"'))
rec("json-escaped-single-quote", order("c-1", after=',"x":"a\\\'b"'))
rec("json-short-unicode-escape", order("c-1", after=',"x":"\\u12"'))
rec("json-unicode-escape-plus", order("c-1", after=',"x":"\\u+123"'))
rec("json-single-quotes", "{'customer_id':'c-1'}")
rec("json-unquoted-key", "{customer_id:\"c-1\"}")
rec("json-unterminated-object", '{"customer_id":"c-1"')
rec("json-unterminated-string", '{"customer_id":"c-1')
rec("json-unterminated-array", order("c-1", after=',"x":[1,2'))
rec("json-missing-colon", '{"customer_id" "c-1"}')
rec("json-missing-value", '{"customer_id":}')
rec("json-bad-literal", order("c-1", after=',"x":tru'))
rec("json-capital-true", order("c-1", after=',"x":True'))
rec("json-comment", order("c-1") + " // c")
rec("json-bom", "\ufeff" + order("c-1"))
rec("json-nbsp-whitespace", "\u00a0" + order("c-1"))
rec("json-formfeed-whitespace", "\f" + order("c-1"))
rec("json-vertical-tab-whitespace", order("c-1").replace(",", ",\v", 1))
rec("json-u2028-whitespace", order("c-1").replace(",", ",\u2028", 1))
rec("bad-utf8-ff", value_b64=b'{"customer_id":"\xff"}')
rec("bad-utf8-overlong", value_b64=b'{"customer_id":"c-1","x":"\xc0\xaf"}')
rec("bad-utf8-surrogate", value_b64=b'{"customer_id":"c-1","x":"\xed\xa0\x80"}')
rec("bad-utf8-truncated", value_b64=b'{"customer_id":"c-1","x":"\xe2\x82"}')
rec("bad-utf8-above-10ffff", value_b64=b'{"customer_id":"c-1","x":"\xf4\x90\x80\x80"}')
# explicit offsets are echoed on errors
lines.append(dumps({"offset": 123456789012, "key": "error-with-offset", "value": "[]"}))

if sys.argv[1:] == ["--table"]:
    sys.stdout.write("\n".join(table_lines()) + "\n")
elif sys.argv[1:]:
    sys.exit("usage: make_input.py [--table]")
else:
    sys.stdout.write("\n".join(lines) + "\n")
