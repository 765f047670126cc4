// enrich: an eoshost transform in JavaScript (componentize-qjs, QuickJS, or
// componentize-js, StarlingMonkey).
//
// Parses an order (a JSON object), adds `region` and `total_cents`, and
// writes compact JSON with a fixed key order. The rules are pinned in
// plugins/README.md and checked by tests/conformance/enrich/.
//
// An interpreter is slow at byte loops, so the work is done by native
// string operations on a "binary" string (one char per byte: the same JSON,
// valid or not, as the UTF-8 text, with the same ASCII field names), and
// the output is written as such a string and turned into bytes at once.
// Plain JSON.parse cannot tell `3` from `3.0`, loses integers above 2^53 and
// accepts lone surrogate escapes. Three paths therefore, which give the same
// bytes:
// - plain (almost every record: no \u escape in the text): JSON.parse, then
//   each integer field's token read from the text after its key, which the
//   text must hold once. Without \u escapes the parsed strings hold UTF-8
//   bytes, one char each, and no surrogate can be lone.
// - source (\u escapes, none of them a surrogate or in a key): JSON.parse
//   with a reviver that reads each value's source text (ES2025 "JSON.parse
//   source text access"), strings with escapes decoded byte by byte.
// - slow (lone-surrogate escapes anywhere, duplicate integer fields, deep
//   nesting, an engine without source access): a strict byte-level
//   validator, iterative so that nesting depth is bounded by memory, not by
//   the stack (deep JSON.parse recursion exhausts the wasm stack: a trap).
// All three check the UTF-8 of the whole value first, and fill the same
// `fields`: by FIELDS index, null (missing), { kind: K_STRING, text } (the
// decoded UTF-8 bytes as a binary string), { kind: K_INT, token } or
// { kind: K_OTHER }. total_cents uses BigInt past 2^53.

import { batchOf } from './eoshost.js';

// A Map: a country is any string, `__proto__` too.
const REGIONS = new Map(Object.entries({
  DE: 'EU', FR: 'EU', NL: 'EU', ES: 'EU', IT: 'EU', PL: 'EU', SE: 'EU',
  US: 'NA', CA: 'NA', MX: 'NA',
  JP: 'APAC', CN: 'APAC', IN: 'APAC', SG: 'APAC', AU: 'APAC', KR: 'APAC',
}));
const FIELDS = ['order_id', 'customer_id', 'country', 'quantity', 'unit_price_cents'];
const FIELD_BYTES = FIELDS.map((name) => Array.from(name, (c) => c.charCodeAt(0)));
const K_STRING = 1, K_INT = 2, K_OTHER = 3;
const OTHER = { kind: K_OTHER };

class Rejected {
  constructor(reason) { this.reason = reason; }
}
const INVALID = new Rejected('value is not valid JSON');

// ---------------------------------------------------------------- bytes <-> binary string

// Native in both engines (ES2026 Uint8Array base64, HTML atob/btoa), and in
// QuickJS three times as fast as String.fromCharCode.apply over the bytes;
// the fallbacks are for an engine without them.
const HAS_BASE64 = typeof Uint8Array.prototype.toBase64 === 'function' && typeof Uint8Array.fromBase64 === 'function' &&
  typeof atob === 'function' && typeof btoa === 'function';

function binaryString(bytes) {
  if (HAS_BASE64) return atob(bytes.toBase64());
  if (bytes.length <= 2048) return String.fromCharCode.apply(null, bytes);
  const parts = [];
  for (let i = 0; i < bytes.length; i += 2048) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 2048)));
  return parts.join('');
}

function binaryBytes(s) {
  if (HAS_BASE64) return Uint8Array.fromBase64(btoa(s));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// Decoded string bytes, for the byte-level parser.
class Writer {
  constructor(size) { this.buf = new Uint8Array(size); this.len = 0; }
  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b) { this.reserve(1); this.buf[this.len++] = b; }
  bytes(arr, start, end) {
    this.reserve(end - start);
    this.buf.set(arr.subarray(start, end), this.len);
    this.len += end - start;
  }
  utf8(cp) {
    if (cp < 0x80) this.byte(cp);
    else if (cp < 0x800) { this.byte(0xc0 | (cp >> 6)); this.byte(0x80 | (cp & 63)); }
    else if (cp < 0x10000) {
      this.byte(0xe0 | (cp >> 12)); this.byte(0x80 | ((cp >> 6) & 63)); this.byte(0x80 | (cp & 63));
    } else {
      this.byte(0xf0 | (cp >> 18)); this.byte(0x80 | ((cp >> 12) & 63));
      this.byte(0x80 | ((cp >> 6) & 63)); this.byte(0x80 | (cp & 63));
    }
  }
  result() { return this.buf.subarray(0, this.len); }
}

// ---------------------------------------------------------------- UTF-8 in

function utf8Valid(s) {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s[i];
    if (c < 0x80) { i++; continue; }
    let len, cp, min;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (n - i < len) return false;
    for (let k = 1; k < len; k++) {
      const cc = s[i + k];
      if ((cc & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

// ---------------------------------------------------------------- JSON

function isWs(c) { return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; }
function isDigit(c) { return c >= 0x30 && c <= 0x39; }

function hex4(s, i) {
  if (s.length - i < 4) return -1;
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = s[i + k];
    let d;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

const SIMPLE_ESCAPES = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

class Parser {
  constructor(s) {
    this.s = s;
    this.i = 0;
  }
  ws() {
    const s = this.s;
    while (this.i < s.length && isWs(s[this.i])) this.i++;
  }
  // Reads the string at the opening quote; returns its decoded UTF-8 bytes
  // if `decode`, else null. Throws INVALID.
  string(decode) {
    const s = this.s, n = s.length;
    const out = decode ? new Writer(32) : null;
    let i = this.i + 1;
    for (;;) {
      const start = i;
      while (i < n) {
        const c = s[i];
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        i++;
      }
      if (out) out.bytes(s, start, i);
      if (i >= n) throw INVALID;
      const c = s[i];
      if (c === 0x22) { this.i = i + 1; return out ? out.result() : null; }
      if (c < 0x20) throw INVALID; // raw control character
      if (i + 1 >= n) throw INVALID;
      const e = s[i + 1];
      i += 2;
      if (e !== 0x75) {
        const simple = SIMPLE_ESCAPES[e];
        if (simple === undefined) throw INVALID;
        if (out) out.byte(simple);
        continue;
      }
      let cp = hex4(s, i);
      if (cp < 0) throw INVALID;
      i += 4;
      if (cp >= 0xdc00 && cp <= 0xdfff) throw INVALID; // lone low surrogate
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (s[i] !== 0x5c || s[i + 1] !== 0x75) throw INVALID;
        const lo = hex4(s, i + 2);
        if (lo < 0xdc00 || lo > 0xdfff) throw INVALID;
        i += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      if (out) out.utf8(cp);
    }
  }
  // Reads a number token; returns true if it has no fraction and no exponent.
  number() {
    const s = this.s, n = s.length;
    let i = this.i, isInt = true;
    if (s[i] === 0x2d) i++;
    if (i >= n || !isDigit(s[i])) throw INVALID;
    if (s[i] === 0x30) i++;
    else while (i < n && isDigit(s[i])) i++;
    if (i < n && s[i] === 0x2e) {
      i++;
      if (i >= n || !isDigit(s[i])) throw INVALID;
      while (i < n && isDigit(s[i])) i++;
      isInt = false;
    }
    if (i < n && (s[i] === 0x65 || s[i] === 0x45)) {
      i++;
      if (i < n && (s[i] === 0x2b || s[i] === 0x2d)) i++;
      if (i >= n || !isDigit(s[i])) throw INVALID;
      while (i < n && isDigit(s[i])) i++;
      isInt = false;
    }
    this.i = i;
    return isInt;
  }
  literal(word) {
    const s = this.s;
    if (s.length - this.i < word.length) throw INVALID;
    for (let k = 0; k < word.length; k++) if (s[this.i + k] !== word.charCodeAt(k)) throw INVALID;
    this.i += word.length;
  }
  // Reads `"key" :` and the whitespace after it; returns the index of the
  // field it names, if `top` and it names one, else -1.
  memberKey(top) {
    if (this.s[this.i] !== 0x22) throw INVALID;
    const key = this.string(top);
    this.ws();
    if (this.s[this.i] !== 0x3a) throw INVALID;
    this.i++;
    this.ws();
    return top ? fieldIndex(key) : -1;
  }
}

function fieldIndex(key) {
  outer: for (let f = 0; f < FIELD_BYTES.length; f++) {
    const name = FIELD_BYTES[f];
    if (name.length !== key.length) continue;
    for (let k = 0; k < key.length; k++) if (key[k] !== name[k]) continue outer;
    return f;
  }
  return -1;
}

// Validates the whole document. Returns null if the top-level value is not
// an object, else the members we need (see `fields` below; duplicates: the
// last one wins). Throws INVALID.
function parseDocument(s) {
  const p = new Parser(s);
  const n = s.length;
  const stack = []; // 0x7b '{' or 0x5b '[' per open container
  const fields = [null, null, null, null, null];
  let field = -1;
  p.ws();
  const isObject = p.i < n && s[p.i] === 0x7b;
  for (;;) {
    // ---- a value starts here
    if (p.i >= n) throw INVALID;
    let c = s[p.i];
    const capture = stack.length === 1 && stack[0] === 0x7b && field >= 0;
    if (c === 0x7b || c === 0x5b) {
      if (capture) fields[field] = { kind: K_OTHER };
      stack.push(c);
      p.i++;
      p.ws();
      if (s[p.i] === (c === 0x7b ? 0x7d : 0x5d)) {
        p.i++;
        stack.pop();
      } else if (c === 0x7b) {
        field = p.memberKey(stack.length === 1);
        continue;
      } else {
        continue;
      }
    } else if (c === 0x22) {
      const bytes = p.string(capture);
      if (capture) fields[field] = { kind: K_STRING, text: binaryString(bytes) };
    } else if (c === 0x2d || isDigit(c)) {
      const start = p.i;
      const isInt = p.number();
      if (capture) {
        fields[field] = isInt
          ? { kind: K_INT, token: String.fromCharCode.apply(null, s.subarray(start, p.i)) }
          : { kind: K_OTHER };
      }
    } else {
      p.literal(c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null');
      if (capture) fields[field] = { kind: K_OTHER };
    }
    // ---- after a value: close containers, or go on after a comma
    for (;;) {
      p.ws();
      if (stack.length === 0) {
        if (p.i !== n) throw INVALID;
        return isObject ? fields : null;
      }
      const open = stack[stack.length - 1];
      if (p.i >= n) throw INVALID;
      c = s[p.i];
      if (c === 0x2c) {
        p.i++;
        p.ws();
        if (open === 0x7b) field = p.memberKey(stack.length === 1);
        break;
      }
      if (c !== (open === 0x7b ? 0x7d : 0x5d)) throw INVALID;
      p.i++;
      stack.pop();
    }
  }
}


// ---------------------------------------------------------------- fast paths

// A fatal UTF-8 TextDecoder checks a value in one native call
// (StarlingMonkey has one; QuickJS here has none).
const UTF8 = typeof TextDecoder === 'function' ? new TextDecoder('utf-8', { fatal: true }) : null;

// Throws INVALID unless `bytes` (`bin` as a binary string) are UTF-8.
function checkUtf8(bytes, bin) {
  try {
    if (UTF8) UTF8.decode(bytes);
    else if (hasNonAscii(bytes)) decodeURIComponent(escape(bin)); // strict UTF-8: throws URIError
  } catch (e) {
    throw INVALID;
  }
}

// Whether any byte is 0x80 or above, a 32-bit word at a time: no native
// method answers it, and in QuickJS a regex takes twice as long as this
// loop (16 against 8 µs a KiB).
function hasNonAscii(bytes) {
  if (bytes.byteOffset & 3) bytes = bytes.slice();
  const n = bytes.length, w = new Int32Array(bytes.buffer, bytes.byteOffset, n >> 2), m = w.length;
  let acc = 0, i = 0;
  for (; i + 8 <= m; i += 8) acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7];
  for (; i < m; i++) acc |= w[i];
  for (i = m << 2; i < n; i++) acc |= bytes[i];
  return (acc & 0x80808080) !== 0;
}

// Does JSON.parse hand the reviver each value's source text?
const HAS_SOURCE = (() => {
  try {
    let src;
    JSON.parse('[1.0]', function (k, v, ctx) { if (k === '0') src = ctx && ctx.source; return v; });
    return src === '1.0';
  } catch (e) {
    return false;
  }
})();
const FIELD_INDEX = new Map(FIELDS.map((name, f) => [name, f]));

const INT_TOKEN = /^-?(?:0|[1-9][0-9]*)$/;
// After an integer field's key: the colon and the number token's integer
// part, then the start of a fraction or exponent, if any.
const AFTER_KEY = /[ \t\n\r]*:[ \t\n\r]*(-?(?:0|[1-9][0-9]*))([.eE]?)/y;
// A surrogate escape, or a key whose last escape is a \uXXXX.
const SLOW_ESCAPES = /\\u[dD][89abcdefABCDEF]|\\u[0-9a-fA-F]{4}[^"\\]*"[ \t\n\r]*:/;
const MAX_FAST_DEPTH = 128; // JSON.parse recursion: far below what exhausts the stack (~1000)
const NOT_BRACKET = /[^[\]{}]+/g;
const EMPTY_PAIR = /\[\]|\{\}/g;

// Searches for one byte go through the Uint8Array: fast in QuickJS, where
// String.prototype.indexOf is a slow loop (0.3 against 9 µs a KiB).
function countUpTo(bytes, byte, limit) {
  let n = 0;
  for (let i = bytes.indexOf(byte); i >= 0 && n <= limit; i = bytes.indexOf(byte, i + 1)) n++;
  return n;
}

// An estimate of the nesting depth, in native operations: count the
// brackets, and if there are enough, strip all but brackets, then peel
// empty pairs off, one level per pass. Brackets inside strings can only make
// it err on the deep side.
function nestingMayExceed(bytes, bin, limit) {
  if (bytes.length <= 2 * limit) return false; // too short to nest that deep
  if (countUpTo(bytes, 0x7b, limit) + countUpTo(bytes, 0x5b, limit) <= limit) return false;
  let s = bin.replace(NOT_BRACKET, '');
  for (let i = 0; i < limit; i++) {
    const t = s.replace(EMPTY_PAIR, '');
    if (t.length === s.length) return false;
    s = t;
  }
  return s.length > 0;
}

// Returns the fields, null for a non-object, or undefined when the slow path
// must decide. Throws INVALID.
function fastParse(value) {
  const bin = binaryString(value);
  checkUtf8(value, bin);
  if (nestingMayExceed(value, bin, MAX_FAST_DEPTH)) return undefined;
  // The integer fields' tokens are read after their keys in the text (plain
  // path) or from the source text (source path), so each key must be written
  // once: given twice, the plain path could read the wrong one, and QuickJS's
  // source text for a key given twice with the same value (`3` then `3.0`)
  // is the first one's. A key can be spelled otherwise only with \u escapes,
  // which SLOW_ESCAPES sends to the slow path, and `"quantity"` inside a
  // string has its quotes escaped. (split is fast in QuickJS, indexOf slow.)
  const quantity = bin.split('"quantity"', 3), unitPrice = bin.split('"unit_price_cents"', 3);
  if (quantity.length > 2 || unitPrice.length > 2) return undefined;
  // A backslash is rare; then look for \u (`\\u` too, needlessly).
  if (value.indexOf(0x5c) < 0 || bin.indexOf('\\u') < 0) return plainFields(bin, quantity, unitPrice);
  if (!HAS_SOURCE || SLOW_ESCAPES.test(bin)) return undefined;
  return sourceFields(bin);
}

// Parses text (as `bin`) without \u escapes: its strings are then binary
// strings of their UTF-8 bytes (the simple escapes decode to ASCII).
function plainFields(bin, quantity, unitPrice) {
  let doc;
  try {
    doc = JSON.parse(bin);
  } catch (e) {
    if (e instanceof SyntaxError) throw INVALID;
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  return [
    stringMember(doc.order_id), stringMember(doc.customer_id), stringMember(doc.country),
    intMember(doc.quantity, bin, quantity[0].length + 10),
    intMember(doc.unit_price_cents, bin, unitPrice[0].length + 18),
  ];
}

function stringMember(v) {
  if (v === undefined) return null;
  return typeof v === 'string' ? { kind: K_STRING, text: v } : OTHER;
}

// A top-level member that JSON.parse read; its token follows `at`, the end
// of its key, the only one of that name in the text.
function intMember(v, bin, at) {
  if (v === undefined) return null;
  if (typeof v !== 'number') return OTHER;
  AFTER_KEY.lastIndex = at;
  const m = AFTER_KEY.exec(bin);
  if (m === null) throw new Error('enrich: no number token after an integer field key'); // a bug: trap
  return m[2] === '' ? { kind: K_INT, token: m[1] } : OTHER;
}

// Parses text with \u escapes (no surrogate, none in a key) and reads the
// fields' source text.
function sourceFields(bin) {
  const seen = [];
  let doc;
  try {
    doc = JSON.parse(bin, function (k, v, ctx) {
      const f = FIELD_INDEX.get(k);
      if (f !== undefined) seen.push(this, f, v, ctx ? ctx.source : undefined);
      return v;
    });
  } catch (e) {
    if (e instanceof SyntaxError) throw INVALID;
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const fields = [null, null, null, null, null];
  for (let i = 0; i < seen.length; i += 4) {
    if (seen[i] !== doc) continue; // a member of a nested object
    const f = seen[i + 1], v = seen[i + 2], src = seen[i + 3];
    if (typeof v === 'string') {
      if (src === undefined) return undefined; // no source (a duplicate key): slow path
      const text = src.indexOf('\\') < 0 ? src.slice(1, -1) : binaryString(new Parser(binaryBytes(src)).string(true));
      fields[f] = { kind: K_STRING, text };
    } else if (typeof v === 'number') {
      if (src === undefined) return undefined;
      fields[f] = INT_TOKEN.test(src) ? { kind: K_INT, token: src } : OTHER;
    } else {
      fields[f] = OTHER;
    }
  }
  return fields;
}

// ---------------------------------------------------------------- rules

function checkField(fields, f) {
  const name = FIELDS[f];
  const v = fields[f];
  if (v === null) throw new Rejected(`missing field "${name}"`);
  if (f < 3) {
    if (v.kind !== K_STRING) throw new Rejected(`field "${name}" must be a string`);
    return v.text;
  }
  if (v.kind !== K_INT) throw new Rejected(`field "${name}" must be an integer`);
  const negative = v.token[0] === '-';
  const digits = negative ? v.token.slice(1) : v.token;
  if (digits.length > 10 || (negative && digits !== '0') || Number(digits) > 1000000000) {
    throw new Rejected(`field "${name}" must be between 0 and 1000000000`);
  }
  return Number(digits);
}

// Minimal JSON string escaping: only '"', '\' and U+0000..U+001F (in a
// binary string, the bytes below 0x20); everything else is written raw.
const NEEDS_ESCAPE = /[\x00-\x1f"\\]/;
const NEEDS_ESCAPE_ALL = /[\x00-\x1f"\\]/g;
const ESCAPES = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
function escapeChar(c) {
  return ESCAPES[c] ?? '\\u00' + c.charCodeAt(0).toString(16).padStart(2, '0');
}
function quote(text) {
  return '"' + (NEEDS_ESCAPE.test(text) ? text.replace(NEEDS_ESCAPE_ALL, escapeChar) : text) + '"';
}

function enrich(value) {
  if (value === null || value === undefined) throw new Rejected('value is missing');
  let fields = fastParse(value);
  if (fields === undefined) {
    if (!utf8Valid(value)) throw INVALID;
    fields = parseDocument(value);
  }
  if (fields === null) throw new Rejected('value is not a JSON object');
  const orderId = checkField(fields, 0);
  const customerId = checkField(fields, 1);
  const country = checkField(fields, 2);
  const quantity = checkField(fields, 3);
  const unitPrice = checkField(fields, 4);
  const region = REGIONS.get(country) ?? 'OTHER';
  // Up to 10^18: beyond 2^53, so BigInt when the product may be inexact.
  const total = quantity * unitPrice;
  const out = '{"order_id":' + quote(orderId) + ',"customer_id":' + quote(customerId) + ',"country":' + quote(country) +
    ',"region":"' + region + '","quantity":' + quantity + ',"unit_price_cents":' + unitPrice + ',"total_cents":' +
    (total <= Number.MAX_SAFE_INTEGER ? total : BigInt(quantity) * BigInt(unitPrice)) + '}';
  return { value: binaryBytes(out), region };
}

const REGION_HEADER_VALUES = {};
for (const r of ['EU', 'NA', 'APAC', 'OTHER']) REGION_HEADER_VALUES[r] = Uint8Array.from(r, (c) => c.charCodeAt(0));

export function init(config) {
  for (const [key] of config) throw `unknown config key "${key}"`;
}

export function transform(record) {
  let result;
  try {
    result = enrich(record.value);
  } catch (e) {
    if (e instanceof Rejected) throw { tag: 'rejected', val: e.reason };
    throw e;
  }
  const headers = record.headers.filter((h) => h.key !== 'region');
  // One shared array per region: both engines' bindings copy what they lower.
  headers.push({ key: 'region', value: REGION_HEADER_VALUES[result.region] });
  return [{ topic: null, key: record.key ?? null, value: result.value, headers }];
}

// The `batch` export of the `batch-transformer` world: `transform` for each
// record of a batch, in one call (see plugins/js-sdk/eoshost.js).
export const batch = batchOf(transform);
