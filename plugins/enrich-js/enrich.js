// enrich: an eoshost transform in JavaScript (componentize-qjs, QuickJS).
//
// Parses an order (a JSON object), adds `region` and `total_cents`, and
// writes compact JSON with a fixed key order. The rules are pinned in
// plugins/README.md and checked by tests/conformance/enrich/.
//
// Plain JSON.parse cannot tell `3` from `3.0`, loses integers above 2^53 and
// accepts lone surrogate escapes. Two paths therefore:
// - fast (almost every record): the bytes become a "binary" string (one char
//   per byte), decodeURIComponent(escape(...)) checks the UTF-8, and
//   JSON.parse with a reviver that reads each value's source text (ES2025
//   "JSON.parse source text access") validates the JSON and yields the raw
//   number tokens. All of that is native code; an interpreter is slow at
//   byte loops.
// - slow (lone-surrogate escapes anywhere, duplicate fields, deep nesting,
//   an engine without source access): a strict byte-level validator,
//   iterative so that nesting depth is bounded by memory, not by the stack
//   (deep JSON.parse recursion exhausts the wasm stack: a trap).
// Both fill the same `fields` and share the output code. total_cents uses
// BigInt.

const REGIONS = {
  DE: 'EU', FR: 'EU', NL: 'EU', ES: 'EU', IT: 'EU', PL: 'EU', SE: 'EU',
  US: 'NA', CA: 'NA', MX: 'NA',
  JP: 'APAC', CN: 'APAC', IN: 'APAC', SG: 'APAC', AU: 'APAC', KR: 'APAC',
};
const FIELDS = ['order_id', 'customer_id', 'country', 'quantity', 'unit_price_cents'];
const FIELD_BYTES = FIELDS.map((name) => Array.from(name, (c) => c.charCodeAt(0)));
const K_STRING = 1, K_INT = 2, K_OTHER = 3;

class Rejected {
  constructor(reason) { this.reason = reason; }
}
const INVALID = new Rejected('value is not valid JSON');

// ---------------------------------------------------------------- bytes out

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
    if (start === undefined) {
      this.reserve(arr.length);
      this.buf.set(arr, this.len);
      this.len += arr.length;
      return;
    }
    this.reserve(end - start);
    this.buf.set(arr.subarray(start, end), this.len);
    this.len += end - start;
  }
  ascii(s) {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }
  // A non-negative integer (Number or BigInt) in decimal.
  digits(n) {
    const str = String(n);
    this.reserve(str.length);
    for (let i = 0; i < str.length; i++) this.buf[this.len++] = str.charCodeAt(i);
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
  // Minimal JSON string escaping: only '"', '\' and U+0000..U+001F.
  jsonString(s) {
    const HEX = '0123456789abcdef';
    this.byte(0x22);
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) { this.byte(c); continue; }
      switch (c) {
        case 0x22: this.ascii('\\"'); break;
        case 0x5c: this.ascii('\\\\'); break;
        case 0x08: this.ascii('\\b'); break;
        case 0x0c: this.ascii('\\f'); break;
        case 0x0a: this.ascii('\\n'); break;
        case 0x0d: this.ascii('\\r'); break;
        case 0x09: this.ascii('\\t'); break;
        default: this.ascii('\\u00' + HEX[c >> 4] + HEX[c & 15]);
      }
    }
    this.byte(0x22);
  }
  // A string field: its source token as is when it has no escapes (then it
  // needs none: raw '"', '\' and control characters are not JSON), else
  // the decoded bytes, escaped.
  jsonField(field) {
    if (field.raw) this.bytes(field.raw);
    else this.jsonString(field.bytes);
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
// an object, else the members we need: [{kind, bytes, token}] by FIELDS
// index (duplicates: the last one wins). Throws INVALID.
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
      if (capture) fields[field] = { kind: K_STRING, bytes };
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

// ---------------------------------------------------------------- fast path

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
const NON_ASCII = /[\x80-\xff]/;

const INT_TOKEN = /^-?(?:0|[1-9][0-9]*)$/;
// A surrogate escape, or a key whose last escape is a \uXXXX.
const SLOW_ESCAPES = /\\u[dD][89abcdefABCDEF]|\\u[0-9a-fA-F]{4}[^"\\]*"[ \t\n\r]*:/;
const MAX_FAST_DEPTH = 128; // JSON.parse recursion: far below what exhausts the stack (~1000)
const NOT_BRACKET = /[^[\]{}]+/g;
const EMPTY_PAIR = /\[\]|\{\}/g;

function toBinary(bytes) {
  if (bytes.length <= 2048) return String.fromCharCode.apply(null, bytes);
  const parts = [];
  for (let i = 0; i < bytes.length; i += 2048) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 2048)));
  return parts.join('');
}

function twice(s, word) {
  const i = s.indexOf(word);
  return i >= 0 && s.indexOf(word, i + word.length) >= 0;
}

function countUpTo(s, ch, limit) {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0 && n <= limit; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

// An estimate of the nesting depth, in native string operations: strip all
// but brackets, then peel empty pairs off, one level per pass. Brackets
// inside strings can only make it err on the deep side.
function nestingMayExceed(s, limit) {
  if (s.length <= 2 * limit) return false; // too short to nest that deep
  if (countUpTo(s, '{', limit) + countUpTo(s, '[', limit) <= limit) return false;
  s = s.replace(NOT_BRACKET, '');
  for (let i = 0; i < limit; i++) {
    const t = s.replace(EMPTY_PAIR, '');
    if (t.length === s.length) return false;
    s = t;
  }
  return s.length > 0;
}

// Returns the fields (as parseDocument does), null for a non-object, or
// undefined when the slow path must decide. Throws INVALID.
function fastParse(value) {
  if (!HAS_SOURCE) return undefined;
  const bin = toBinary(value);
  if (NON_ASCII.test(bin)) {
    try {
      decodeURIComponent(escape(bin)); // strict UTF-8: throws URIError
    } catch (e) {
      throw INVALID;
    }
  }
  // Lone surrogates: JSON.parse accepts them. And QuickJS's source text for
  // a key given twice with the same value (`3` then `3.0`) is the first
  // one's: let the slow path see duplicates of the integer fields, spelled
  // plainly or with \u escapes. (For a string field any token of the same
  // value gives the same output.)
  if (bin.indexOf('\\') >= 0 && SLOW_ESCAPES.test(bin)) return undefined;
  if (twice(bin, '"quantity"') || twice(bin, '"unit_price_cents"')) return undefined;
  if (nestingMayExceed(bin, MAX_FAST_DEPTH)) return undefined;
  const seen = [];
  let doc;
  try {
    // In the binary string, UTF-8 sequences are runs of chars >= 0x80: the
    // same JSON (valid or not) as the text, and the same ASCII field names.
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
      const at = bin.indexOf(src); // the same text, so the same bytes, as the token
      const token = value.subarray(at, at + src.length);
      if (src.indexOf('\\') < 0) {
        fields[f] = { kind: K_STRING, bytes: token.subarray(1, token.length - 1), raw: token };
      } else {
        const p = new Parser(token);
        fields[f] = { kind: K_STRING, bytes: p.string(true) };
      }
    } else if (typeof v === 'number') {
      if (src === undefined) return undefined;
      fields[f] = INT_TOKEN.test(src) ? { kind: K_INT, token: src } : { kind: K_OTHER };
    } else {
      fields[f] = { kind: K_OTHER };
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
    return v.bytes;
  }
  if (v.kind !== K_INT) throw new Rejected(`field "${name}" must be an integer`);
  const negative = v.token[0] === '-';
  const digits = negative ? v.token.slice(1) : v.token;
  if (digits.length > 10 || (negative && digits !== '0') || Number(digits) > 1000000000) {
    throw new Rejected(`field "${name}" must be between 0 and 1000000000`);
  }
  return Number(digits);
}

function regionOf(country) {
  if (country.length !== 2) return 'OTHER';
  return REGIONS[String.fromCharCode(country[0], country[1])] ?? 'OTHER';
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
  const region = regionOf(country);
  const out = new Writer(160 + orderId.length + customerId.length + country.length);
  out.bytes(P_ORDER_ID);
  out.jsonField(fields[0]);
  out.bytes(P_CUSTOMER_ID);
  out.jsonField(fields[1]);
  out.bytes(P_COUNTRY);
  out.jsonField(fields[2]);
  out.bytes(P_REGION[region]);
  out.digits(quantity);
  out.bytes(P_UNIT_PRICE);
  out.digits(unitPrice);
  out.bytes(P_TOTAL);
  // Up to 10^18: beyond 2^53, so BigInt when the product may be inexact.
  const total = quantity * unitPrice;
  out.digits(total <= Number.MAX_SAFE_INTEGER ? total : BigInt(quantity) * BigInt(unitPrice));
  out.byte(0x7d);
  return { value: out.result(), region };
}

// The constant parts of the output, as bytes (an interpreter is slow at
// turning strings into bytes one by one).
const ascii = (str) => Uint8Array.from(str, (c) => c.charCodeAt(0));
const P_ORDER_ID = ascii('{"order_id":');
const P_CUSTOMER_ID = ascii(',"customer_id":');
const P_COUNTRY = ascii(',"country":');
const P_REGION = {};
for (const r of ['EU', 'NA', 'APAC', 'OTHER']) P_REGION[r] = ascii(`,"region":"${r}","quantity":`);
const P_UNIT_PRICE = ascii(',"unit_price_cents":');
const P_TOTAL = ascii(',"total_cents":');

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
  headers.push({ key: 'region', value: REGION_HEADER_VALUES[result.region].slice() });
  return [{ topic: null, key: record.key ?? null, value: result.value, headers }];
}
