#!/usr/bin/env python3
"""Writes the enrich conformance suite's input, one case a line:

    python3 tests/conformance/enrich/make_input.py > tests/conformance/enrich/input.jsonl
    python3 tests/conformance/enrich/make_expected.py \
        < tests/conformance/enrich/input.jsonl > tests/conformance/enrich/expected.jsonl

Each case's record key names it, so a diff of `eoshost test` output against
expected.jsonl shows which case broke (rejections print only their offset:
the 0-based line number, unless the line sets `offset`). Tombstones (no
value) cannot be written in the offline format and are not covered here.
Standard library only.
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference import record_line  # noqa: E402  (the suites' shared module)

lines = []


def rec(*case, **fields):
    lines.append(record_line(*case, **fields))


def dumps(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


def order(oid="o-1", cid="c-1", country="DE", q="2", p="150", extra_pre="", extra_post=""):
    """Build a value text; numbers given as raw tokens."""
    return (
        "{" + extra_pre + f'"order_id":{json.dumps(oid, ensure_ascii=False)},"customer_id":{json.dumps(cid, ensure_ascii=False)},'
        f'"country":{json.dumps(country, ensure_ascii=False)},"quantity":{q},"unit_price_cents":{p}' + extra_post + "}"
    )


# --- regions -------------------------------------------------------------
for c in ["DE", "FR", "NL", "ES", "IT", "PL", "SE"]:
    rec(f"region-eu-{c}", order(country=c))
for c in ["US", "CA", "MX"]:
    rec(f"region-na-{c}", order(country=c))
for c in ["JP", "CN", "IN", "SG", "AU", "KR"]:
    rec(f"region-apac-{c}", order(country=c))
for c in ["GB", "de", "Us", "", "DEU", " DE", "BR"]:
    rec(f"region-other-{c or 'empty'}", order(country=c))

# full record fields: topic, partition, offset, timestamp, headers
lines.append(dumps({"topic": "orders", "partition": 3, "offset": 7, "timestamp": 1700000000000,
                    "key": "full-record", "value": order(), "headers": {"trace": "abc", "source": "web"}}))
# headers: existing region header is dropped, the new one goes last; case-sensitive
rec("headers-region-replaced", order(country="US"),
    headers={"a": "1", "region": "EU", "b": "2", "Region": "keep-me", "c": ""})
rec("headers-only-region", order(country="JP"), headers={"region": "OTHER"})
rec("headers-empty", order(country="XX"), headers={})
rec("headers-non-ascii", order(), headers={"ключ": "значение 😀", "x-json": "{\"a\":1}"})
# no key at all
rec("no-key", order(), key=False)
rec("", order(oid="empty-key"))  # empty key is a key

# --- numbers ---------------------------------------------------------------
rec("zero-quantity", order(q="0"))
rec("zero-price", order(p="0"))
rec("zero-both", order(q="0", p="0"))
rec("minus-zero", order(q="-0", p="-0"))
rec("minus-zero-quantity", order(q="-0", p="5"))
rec("max-both-1e18", order(q="1000000000", p="1000000000"))
rec("total-above-2p53", order(q="999999937", p="999999929"))  # 999999866000004473
rec("total-2p53-plus-1", order(q="94906267", p="94906267"))  # 9007199515875289 > 2^53
rec("total-odd-large", order(q="123456789", p="987654321"))
rec("max-quantity-min-price", order(q="1000000000", p="1"))
rec("whitespace-everywhere", ' \t\r\n{ "order_id" : "w" ,\n"customer_id"\t:\t"c" , "country" : "NL" ,'
    ' "quantity" : 3 , "unit_price_cents" : 7 } \n\t ')

# --- strings & escaping --------------------------------------------------
rec("escape-quote-backslash", order(oid='say "hi" \\ back\\slash'))
rec("escape-short-forms", order(oid="b\bf\fn\nr\rt\t"))
ctrl = "".join(chr(i) for i in range(0x00, 0x20))
rec("escape-all-controls", order(cid=ctrl))
rec("no-escape-slash-html", order(oid="a/b</script><>&'x"))
rec("no-escape-u2028-u2029-del", order(cid="x\u2028y\u2029z\u007f"))
rec("non-ascii-raw", order(oid="Zoë Ærø – 東京 😀 𝄞", cid="ünïcödé"))
# escapes in the input text that must come out raw (decoded)
rec("input-escapes-decoded",
    '{"order_id":"\\u00e9\\u00E9\\/\\u0041\\ud83d\\ude00\\uD834\\uDD1E","customer_id":"\\u007f\\u2028",'
    '"country":"\\u0044\\u0045","quantity":1,"unit_price_cents":2}')
rec("input-escaped-controls",
    '{"order_id":"\\u0000\\u001f\\u001F\\b\\f\\n\\r\\t\\u000b","customer_id":"\\"\\\\","country":"SE",'
    '"quantity":1,"unit_price_cents":2}')
rec("non-ascii-with-escapes", '{"order_id":"Zoë\\n\\u00e9\\t東","customer_id":"😀\\"","country":"JP","quantity":1,"unit_price_cents":2}')
rec("empty-strings", order(oid="", cid=""))
rec("escaped-key-names", '{"\\u006frder_id":"k","customer_\\u0069d":"c","country":"FR","quantity":1,"unit_price_cents":1}')

# --- extra fields, duplicates ----------------------------------------------
rec("extra-fields-dropped", order(extra_pre='"note":"x","nested":{"a":[1,2.5,{"b":null}],"c":true},',
                                  extra_post=',"discount":0.15,"weight":1e3,"neg":-2.5E-7,"big":123456789012345678901234567890,"f":false,"n":null,"arr":[]'))
rec("extra-fields-reordered", '{"unit_price_cents":5,"zzz":"last?","quantity":4,"country":"CA","customer_id":"c9","order_id":"o9"}')
rec("duplicate-last-wins", '{"order_id":"first","order_id":"second","customer_id":"c","country":"US","country":"JP",'
    '"quantity":1,"unit_price_cents":2,"quantity":3}')
rec("duplicate-invalid-then-valid", '{"order_id":5,"order_id":"ok","customer_id":"c","country":"IT","quantity":"x",'
    '"quantity":3,"unit_price_cents":2.5,"unit_price_cents":4}')
rec("duplicate-valid-then-invalid", '{"order_id":"o","customer_id":"c","country":"IT","quantity":3,"quantity":3.0,'
    '"unit_price_cents":4}')

# deep nesting is valid JSON (RFC 8259 sets no depth limit; these plugins set none either)
deep = '{"a":' * 750 + '[' * 750 + '1.5e3' + ']' * 750 + '}' * 750
rec("deep-nesting-1500-extra-field", order(extra_post=',"deep":' + deep))
rec("deep-nesting-1500-top-level-array", '[' * 1500 + ']' * 1500)
rec("deep-nesting-1500-unclosed", order(extra_post=',"deep":' + deep[:-1]))

# many brackets but shallow (the Python plugin's slow path), with the tricky bits
pad = ',"pad":[' + ",".join(["[]"] * 150 + ["{}"] * 150) + "]"
rec("many-brackets-escapes-duplicates",
    '{"order_id":"\\u00e9\\ud83d\\ude00\\n\\/","quantity":"x","customer_id":"c","country":"KR","quantity":7,'
    '"unit_price_cents":-0' + pad + '}')
rec("many-brackets-lone-surrogate", '{"order_id":"\\udc00","customer_id":"c","country":"KR","quantity":7,"unit_price_cents":1' + pad + '}')
rec("many-brackets-fraction", '{"order_id":"o","customer_id":"c","country":"KR","quantity":1.0,"unit_price_cents":1' + pad + '}')
rec("many-brackets-not-object", pad[7:])

# field names inside nested values are not the fields
rec("nested-field-names-ignored",
    '{"meta":{"order_id":1,"quantity":"x","country":"US"},"order_id":"o","customer_id":"c","country":"FR",'
    '"quantity":2,"unit_price_cents":3,"arr":[{"quantity":1.5},{"unit_price_cents":null}]}')
rec("nested-field-name-not-top-level", '{"meta":{"order_id":"o"},"customer_id":"c","country":"FR","quantity":2,"unit_price_cents":3}')
rec("proto-and-constructor-keys",
    '{"__proto__":{"order_id":"evil"},"constructor":1,"toString":"x","order_id":"o","customer_id":"c",'
    '"country":"FR","quantity":2,"unit_price_cents":3,"hasOwnProperty":false}')
rec("same-text-elsewhere", '{"note":"\\"o-1\\" \\u00e9","order_id":"o-1","customer_id":"o-1","country":"IT","quantity":1,"unit_price_cents":1}')

# duplicates with the same value spelled differently, plain or with escaped key names
rec("duplicate-same-value-fraction-last", '{"order_id":"o","customer_id":"c","country":"IT","quantity":2,"quantity":2.0,"unit_price_cents":4}')
rec("duplicate-same-value-int-last", '{"order_id":"o","customer_id":"c","country":"IT","quantity":2.0,"quantity":2,"unit_price_cents":4}')
rec("duplicate-escaped-key-fraction-last", '{"order_id":"o","customer_id":"c","country":"IT","unit_price_cents":4,"unit_price_cents":4,"quantity":2,"quantit\\u0079":2e0}')
rec("duplicate-escaped-key-int-last", '{"order_id":"o","customer_id":"c","country":"IT","unit_price_cents":4,"\\u0071uantity":2.0,"quantity":2}')
rec("duplicate-same-string-escaped", '{"order_id":"\\u0041","order_id":"A","customer_id":"c","country":"IT","quantity":2,"unit_price_cents":4}')
rec("nested-same-value-fraction", '{"x":{"quantity":2},"order_id":"o","customer_id":"c","country":"IT","quantity":2.0,"unit_price_cents":4}')
rec("duplicate-minus-zero-forms", '{"order_id":"o","customer_id":"c","country":"IT","quantity":0,"quantity":-0,"unit_price_cents":-0.0,"unit_price_cents":-0}')

# --- rejections: not JSON ----------------------------------------------------
rec("bad-utf8-ff", value_b64=b'{"order_id":"\xff","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("bad-utf8-overlong", value_b64=b'{"order_id":"\xc0\xaf","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("bad-utf8-surrogate", value_b64=b'{"order_id":"\xed\xa0\x80","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("bad-utf8-truncated", value_b64=b'{"order_id":"o","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1,"x":"\xe2\x82"}')
rec("bad-utf8-above-10ffff", value_b64=b'{"order_id":"\xf4\x90\x80\x80","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("bad-utf8-in-extra-field", value_b64=b'{"order_id":"o","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1,"x":"\x80"}')
rec("valid-utf8-via-b64", value_b64=order(oid="b64 ✓").encode())
rec("json-empty", "")
rec("json-whitespace-only", " \n\t")
rec("json-trailing-garbage", order() + " x")
rec("json-two-objects", order() + "{}")
rec("json-trailing-comma", order(extra_post=","))
rec("json-leading-zero", order(q="01"))
rec("json-leading-zero-extra", order(extra_post=',"x":00'))
rec("json-nan", order(extra_post=',"x":NaN'))
rec("json-infinity", order(p="Infinity"))
rec("json-minus-infinity", order(extra_post=',"x":-Infinity'))
rec("json-plus-sign", order(q="+1"))
rec("json-bare-fraction", order(extra_post=',"x":.5'))
rec("json-dangling-dot", order(extra_post=',"x":1.'))
rec("json-dangling-exponent", order(extra_post=',"x":1e'))
rec("json-hex", order(q="0x10"))
rec("json-lone-high-surrogate", order(extra_post=',"x":"\\ud800"'))
rec("json-lone-low-surrogate", '{"order_id":"\\udc00","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("json-high-surrogate-then-bmp", '{"order_id":"\\ud83d\\u0041","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("json-high-surrogate-then-escape", '{"order_id":"\\ud83d\\n","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("json-lone-surrogate-overwritten-by-duplicate",
    '{"order_id":"\\ud800","order_id":"o","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("json-lone-surrogate-in-key", '{"\\ud800":1,"order_id":"o","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("json-raw-control-in-string", order(oid="a\u0001b").replace("\\u0001", "\u0001"))
rec("json-raw-newline-in-string", order(oid="a\nb").replace("\\n", "\n"))
rec("json-raw-tab-in-string", order(oid="a\tb").replace("\\t", "\t"))
rec("json-bad-escape", order(extra_post=',"x":"\\x41"'))
rec("json-short-unicode-escape", order(extra_post=',"x":"\\u12"'))
rec("json-single-quotes", "{'order_id':'o'}")
rec("json-unquoted-key", '{order_id:"o"}')
rec("json-unterminated-object", '{"order_id":"o"')
rec("json-unterminated-string", '{"order_id":"o')
rec("json-unterminated-array", order(extra_post=',"x":[1,2'))
rec("json-bom", "\ufeff" + order())
rec("json-comment", order() + " // c")
rec("json-bad-literal", order(extra_post=',"x":tru'))
rec("json-capital-true", order(extra_post=',"x":True'))
rec("json-missing-colon", '{"order_id" "o"}')
rec("json-missing-value", '{"order_id":}')
rec("json-nbsp-whitespace", "\u00a0" + order())

rec("json-escaped-single-quote", order(extra_post=',"x":"a\\\'b"'))
rec("json-escape-zero", order(extra_post=',"x":"a\\0"'))
rec("json-escape-v", order(extra_post=',"x":"a\\v"'))
rec("json-formfeed-whitespace", "\f" + order())
rec("json-vertical-tab-whitespace", order().replace(",", ",\v", 1))
rec("json-u2028-whitespace", order().replace(",", ",\u2028", 1))
rec("json-lone-minus", order(extra_post=',"x":-'))
rec("json-minus-space-digit", order(extra_post=',"x":- 1'))
rec("json-exponent-plus-valid", order(extra_post=',"x":1E+5,"y":-0.0e-0'))
rec("json-huge-exponent-valid", order(extra_post=',"x":1e999999,"y":-1e-999999'))
rec("json-empty-key-valid", order(extra_post=',"":1'))
rec("json-nul-escape-in-key-valid", order(extra_post=',"\\u0000":1'))

# --- rejections: not an object -------------------------------------------------
rec("not-object-array", "[" + order() + "]")
rec("not-object-empty-array", "[]")
rec("not-object-string", '"{\\"order_id\\":\\"o\\"}"')
rec("not-object-number", "42")
rec("not-object-float", "-1.5e3")
rec("not-object-null", "null")
rec("not-object-true", " true ")
rec("empty-object", "{}")

# --- rejections: fields, in order ---------------------------------------------
rec("missing-order_id", '{"customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("missing-customer_id", '{"order_id":"o","country":"DE","quantity":1,"unit_price_cents":1}')
rec("missing-country", '{"order_id":"o","customer_id":"c","quantity":1,"unit_price_cents":1}')
rec("missing-quantity", '{"order_id":"o","customer_id":"c","country":"DE","unit_price_cents":1}')
rec("missing-unit_price_cents", '{"order_id":"o","customer_id":"c","country":"DE","quantity":1}')
rec("missing-case-sensitive-name", '{"Order_id":"o","customer_id":"c","country":"DE","quantity":1,"unit_price_cents":1}')
rec("order_id-number", order(oid=None).replace('"order_id":null', '"order_id":123'))
rec("order_id-null", order(oid=None))
rec("customer_id-array", order().replace('"customer_id":"c-1"', '"customer_id":["c-1"]'))
rec("customer_id-bool", order().replace('"customer_id":"c-1"', '"customer_id":false'))
rec("country-object", order().replace('"country":"DE"', '"country":{"code":"DE"}'))
rec("country-number", order().replace('"country":"DE"', '"country":49'))
rec("quantity-string", order(q='"3"'))
rec("quantity-fraction", order(q="3.0"))
rec("quantity-exponent", order(q="3e2"))
rec("quantity-exponent-upper-neg", order(q="1E-0"))
rec("quantity-minus-zero-fraction", order(q="-0.0"))
rec("quantity-true", order(q="true"))
rec("quantity-null", order(q="null"))
rec("quantity-object", order(q="{}"))
rec("quantity-array", order(q="[1]"))
rec("quantity-negative", order(q="-1"))
rec("quantity-too-big", order(q="1000000001"))
rec("quantity-huge", order(q="99999999999999999999"))
rec("quantity-huge-negative", order(q="-99999999999999999999"))
rec("unit_price_cents-string", order(p='"150"'))
rec("unit_price_cents-fraction", order(p="1.5"))
rec("unit_price_cents-exponent", order(p="15e1"))
rec("unit_price_cents-false", order(p="false"))
rec("unit_price_cents-negative", order(p="-5"))
rec("unit_price_cents-too-big", order(p="1000000001"))
rec("unit_price_cents-huge", order(p="18446744073709551616"))
rec("unit_price_cents-very-long", order(p="1" + "0" * 400))
# first failure wins
rec("first-failure-order_id-before-missing", '{"order_id":1}')
rec("first-failure-customer_id-before-quantity", '{"order_id":"o","quantity":"bad"}')
rec("first-failure-country-type-before-quantity-range", order(q="-1").replace('"country":"DE"', '"country":null'))
rec("first-failure-quantity-range-before-price-type", order(q="1000000001", p='"x"'))
rec("first-failure-json-before-fields", '{"order_id":1,}')
rec("first-failure-utf8-before-object", value_b64=b'["\xff"]')
# explicit offsets are echoed on errors
lines.append(dumps({"offset": 123456789012, "key": "error-with-offset", "value": "{}"}))
lines.append(dumps({"offset": 42, "partition": 1, "topic": "t", "key_b64": base64.b64encode(b"k").decode(),
                    "value": order(oid="key-b64")}))

sys.stdout.write("\n".join(lines) + "\n")
