// enrich: an eoshost transform in C (bindings from `wit-bindgen c`).
//
// Parses an order (a JSON object), adds `region` and `total_cents`, and
// writes compact JSON with a fixed key order. The rules are pinned in
// plugins/README.md and checked by tests/conformance/enrich/.
//
// The JSON reader is a strict RFC 8259 validator that keeps only the
// top-level members it needs. It is iterative (no recursion), so nesting
// depth is bounded by memory, not by the wasm stack.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transformer.h"

// ---------------------------------------------------------------- buffers

typedef struct {
    uint8_t *ptr;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = realloc(b->ptr, cap);
    if (!p) abort();  // out of memory: a trap, retried on a fresh instance
    b->ptr = p;
    b->cap = cap;
}

static void buf_put(buf_t *b, const void *src, size_t n) {
    buf_reserve(b, n);
    memcpy(b->ptr + b->len, src, n);
    b->len += n;
}

static void buf_putc(buf_t *b, uint8_t c) {
    buf_reserve(b, 1);
    b->ptr[b->len++] = c;
}

static void buf_puts(buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_put_u64(buf_t *b, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_reserve(b, n);
    while (n) b->ptr[b->len++] = (uint8_t)tmp[--n];
}

// Minimal JSON string escaping: only '"', '\' and U+0000..U+001F.
static void buf_put_json_string(buf_t *b, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        switch (c) {
            case '"': buf_puts(b, "\\\""); break;
            case '\\': buf_puts(b, "\\\\"); break;
            case '\b': buf_puts(b, "\\b"); break;
            case '\f': buf_puts(b, "\\f"); break;
            case '\n': buf_puts(b, "\\n"); break;
            case '\r': buf_puts(b, "\\r"); break;
            case '\t': buf_puts(b, "\\t"); break;
            default:
                if (c < 0x20) {
                    char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                    buf_put(b, e, 6);
                } else {
                    buf_putc(b, c);
                }
        }
    }
    buf_putc(b, '"');
}

// ------------------------------------------------------------------ UTF-8

static bool utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            uint8_t cc = s[i + k];
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

static void buf_put_utf8(buf_t *b, uint32_t cp) {
    if (cp < 0x80) {
        buf_putc(b, (uint8_t)cp);
    } else if (cp < 0x800) {
        uint8_t e[2] = {(uint8_t)(0xC0 | (cp >> 6)), (uint8_t)(0x80 | (cp & 0x3F))};
        buf_put(b, e, 2);
    } else if (cp < 0x10000) {
        uint8_t e[3] = {(uint8_t)(0xE0 | (cp >> 12)), (uint8_t)(0x80 | ((cp >> 6) & 0x3F)),
                        (uint8_t)(0x80 | (cp & 0x3F))};
        buf_put(b, e, 3);
    } else {
        uint8_t e[4] = {(uint8_t)(0xF0 | (cp >> 18)), (uint8_t)(0x80 | ((cp >> 12) & 0x3F)),
                        (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), (uint8_t)(0x80 | (cp & 0x3F))};
        buf_put(b, e, 4);
    }
}

// ------------------------------------------------------------------- JSON

enum { F_ORDER_ID, F_CUSTOMER_ID, F_COUNTRY, F_QUANTITY, F_UNIT_PRICE, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {"order_id", "customer_id", "country", "quantity",
                                                 "unit_price_cents"};

enum kind { K_MISSING, K_STRING, K_INT, K_OTHER };

typedef struct {
    enum kind kind;
    buf_t str;           // K_STRING: the decoded text
    const uint8_t *tok;  // K_INT: the number token
    size_t tok_len;
} field_t;

typedef struct {
    const uint8_t *s;
    size_t n, i;
    buf_t stack;  // one byte per open container: '{' or '['
} parser_t;

static void skip_ws(parser_t *p) {
    while (p->i < p->n) {
        uint8_t c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->i++;
    }
}

static int hex4(const uint8_t *s) {
    int v = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = s[k];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

// Reads the string starting at the opening quote; decodes it into `out` if
// not NULL. The input is already known to be valid UTF-8.
static bool parse_string(parser_t *p, buf_t *out) {
    p->i++;  // opening quote
    for (;;) {
        size_t start = p->i;
        while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' && p->s[p->i] >= 0x20) p->i++;
        if (out) buf_put(out, p->s + start, p->i - start);
        if (p->i >= p->n) return false;
        uint8_t c = p->s[p->i];
        if (c == '"') { p->i++; return true; }
        if (c < 0x20) return false;  // raw control character
        // backslash escape
        if (p->i + 1 >= p->n) return false;
        uint8_t e = p->s[p->i + 1];
        p->i += 2;
        uint8_t simple = 0;
        switch (e) {
            case '"': simple = '"'; break;
            case '\\': simple = '\\'; break;
            case '/': simple = '/'; break;
            case 'b': simple = '\b'; break;
            case 'f': simple = '\f'; break;
            case 'n': simple = '\n'; break;
            case 'r': simple = '\r'; break;
            case 't': simple = '\t'; break;
            case 'u': break;
            default: return false;
        }
        if (e != 'u') {
            if (out) buf_putc(out, simple);
            continue;
        }
        if (p->n - p->i < 4) return false;
        int cp = hex4(p->s + p->i);
        if (cp < 0) return false;
        p->i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // lone low surrogate
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') return false;
            int lo = hex4(p->s + p->i + 2);
            if (lo < 0xDC00 || lo > 0xDFFF) return false;  // also catches lo < 0
            p->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (out) buf_put_utf8(out, (uint32_t)cp);
    }
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Reads a number token; *is_int tells whether it has no fraction and no exponent.
static bool parse_number(parser_t *p, bool *is_int) {
    size_t i = p->i;
    if (i < p->n && p->s[i] == '-') i++;
    if (i >= p->n || !is_digit(p->s[i])) return false;
    if (p->s[i] == '0') i++;
    else while (i < p->n && is_digit(p->s[i])) i++;
    *is_int = true;
    if (i < p->n && p->s[i] == '.') {
        i++;
        if (i >= p->n || !is_digit(p->s[i])) return false;
        while (i < p->n && is_digit(p->s[i])) i++;
        *is_int = false;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || !is_digit(p->s[i])) return false;
        while (i < p->n && is_digit(p->s[i])) i++;
        *is_int = false;
    }
    p->i = i;
    return true;
}

static bool parse_literal(parser_t *p, const char *lit) {
    size_t len = strlen(lit);
    if (p->n - p->i < len || memcmp(p->s + p->i, lit, len) != 0) return false;
    p->i += len;
    return true;
}

static int field_index(const buf_t *key) {
    for (int f = 0; f < F_COUNT; f++) {
        size_t len = strlen(FIELD_NAMES[f]);
        if (key->len == len && memcmp(key->ptr, FIELD_NAMES[f], len) == 0) return f;
    }
    return -1;
}

// Reads `"key" :` and the whitespace after it.
static bool parse_member_key(parser_t *p, buf_t *key) {
    if (p->i >= p->n || p->s[p->i] != '"') return false;
    key->len = 0;
    if (!parse_string(p, key)) return false;
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ':') return false;
    p->i++;
    skip_ws(p);
    return true;
}

// Validates the whole document. On success *is_object tells whether the
// top-level value is an object, and fields[] holds its members we need
// (duplicates: the last one wins).
static bool parse_document(const uint8_t *s, size_t n, bool *is_object, field_t fields[F_COUNT]) {
    parser_t p = {.s = s, .n = n, .i = 0};
    buf_t key = {0};
    bool ok = false;
    int field = -1;  // the top-level member whose value comes next, if we need it
    skip_ws(&p);
    *is_object = p.i < n && s[p.i] == '{';
    for (;;) {
        // ---- a value starts here
        if (p.i >= n) goto done;
        uint8_t c = s[p.i];
        field_t *f = (p.stack.len == 1 && p.stack.ptr[0] == '{' && field >= 0) ? &fields[field] : NULL;
        if (c == '{' || c == '[') {
            if (f) f->kind = K_OTHER;
            buf_putc(&p.stack, c);
            p.i++;
            skip_ws(&p);
            if (p.i < n && s[p.i] == (c == '{' ? '}' : ']')) {
                p.i++;
                p.stack.len--;
            } else if (c == '{') {
                if (!parse_member_key(&p, &key)) goto done;
                field = p.stack.len == 1 ? field_index(&key) : -1;
                continue;
            } else {
                continue;
            }
        } else if (c == '"') {
            if (f) {
                f->kind = K_STRING;
                f->str.len = 0;
            }
            if (!parse_string(&p, f ? &f->str : NULL)) goto done;
        } else if (c == '-' || is_digit(c)) {
            size_t start = p.i;
            bool is_int;
            if (!parse_number(&p, &is_int)) goto done;
            if (f) {
                f->kind = is_int ? K_INT : K_OTHER;
                f->tok = s + start;
                f->tok_len = p.i - start;
            }
        } else {
            if (!parse_literal(&p, c == 't' ? "true" : c == 'f' ? "false" : "null")) goto done;
            if (f) f->kind = K_OTHER;
        }
        // ---- after a value: close containers, or go on after a comma
        for (;;) {
            skip_ws(&p);
            if (p.stack.len == 0) {
                ok = p.i == n;
                goto done;
            }
            uint8_t open = p.stack.ptr[p.stack.len - 1];
            if (p.i >= n) goto done;
            c = s[p.i];
            if (c == ',') {
                p.i++;
                skip_ws(&p);
                if (open == '{') {
                    if (!parse_member_key(&p, &key)) goto done;
                    field = p.stack.len == 1 ? field_index(&key) : -1;
                }
                break;
            }
            if (c != (open == '{' ? '}' : ']')) goto done;
            p.i++;
            p.stack.len--;
        }
    }
done:
    free(key.ptr);
    free(p.stack.ptr);
    return ok;
}

// ------------------------------------------------------------------ rules

static const char *region_of(const buf_t *country) {
    static const char *const table[][2] = {
        {"DE", "EU"}, {"FR", "EU"}, {"NL", "EU"}, {"ES", "EU"}, {"IT", "EU"}, {"PL", "EU"},
        {"SE", "EU"}, {"US", "NA"}, {"CA", "NA"}, {"MX", "NA"}, {"JP", "APAC"}, {"CN", "APAC"},
        {"IN", "APAC"}, {"SG", "APAC"}, {"AU", "APAC"}, {"KR", "APAC"},
    };
    if (country->len == 2) {
        for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
            if (memcmp(country->ptr, table[k][0], 2) == 0) return table[k][1];
    }
    return "OTHER";
}

// Checks one field; on failure writes the reason and returns false.
static bool check_field(const field_t *fields, int f, buf_t *reason, uint64_t *int_out) {
    const field_t *fd = &fields[f];
    const char *name = FIELD_NAMES[f];
    bool want_int = f == F_QUANTITY || f == F_UNIT_PRICE;
    const char *problem = NULL;
    if (fd->kind == K_MISSING) {
        buf_puts(reason, "missing field \"");
        buf_puts(reason, name);
        buf_puts(reason, "\"");
        return false;
    }
    if (!want_int) {
        if (fd->kind != K_STRING) problem = "\" must be a string";
    } else if (fd->kind != K_INT) {
        problem = "\" must be an integer";
    } else {
        const uint8_t *d = fd->tok;
        size_t len = fd->tok_len;
        bool negative = d[0] == '-';
        if (negative) { d++; len--; }
        uint64_t v = 0;
        if (len > 10) {
            problem = "\" must be between 0 and 1000000000";
        } else {
            for (size_t k = 0; k < len; k++) v = v * 10 + (uint64_t)(d[k] - '0');
            if ((negative && v != 0) || v > 1000000000u) problem = "\" must be between 0 and 1000000000";
        }
        *int_out = v;
    }
    if (problem) {
        buf_puts(reason, "field \"");
        buf_puts(reason, name);
        buf_puts(reason, problem);
        return false;
    }
    return true;
}

// Returns true and fills `out` with the value, or false and fills `reason`.
static bool enrich(const uint8_t *value, size_t len, buf_t *out, buf_t *reason, const char **region_out) {
    bool is_object = false;
    field_t fields[F_COUNT];
    memset(fields, 0, sizeof fields);
    bool ok = false;
    uint64_t quantity = 0, price = 0, unused = 0;
    if (!utf8_valid(value, len) || !parse_document(value, len, &is_object, fields)) {
        buf_puts(reason, "value is not valid JSON");
        goto done;
    }
    if (!is_object) {
        buf_puts(reason, "value is not a JSON object");
        goto done;
    }
    if (!check_field(fields, F_ORDER_ID, reason, &unused) ||
        !check_field(fields, F_CUSTOMER_ID, reason, &unused) ||
        !check_field(fields, F_COUNTRY, reason, &unused) ||
        !check_field(fields, F_QUANTITY, reason, &quantity) ||
        !check_field(fields, F_UNIT_PRICE, reason, &price))
        goto done;
    const char *region = region_of(&fields[F_COUNTRY].str);
    buf_puts(out, "{\"order_id\":");
    buf_put_json_string(out, fields[F_ORDER_ID].str.ptr, fields[F_ORDER_ID].str.len);
    buf_puts(out, ",\"customer_id\":");
    buf_put_json_string(out, fields[F_CUSTOMER_ID].str.ptr, fields[F_CUSTOMER_ID].str.len);
    buf_puts(out, ",\"country\":");
    buf_put_json_string(out, fields[F_COUNTRY].str.ptr, fields[F_COUNTRY].str.len);
    buf_puts(out, ",\"region\":\"");
    buf_puts(out, region);
    buf_puts(out, "\",\"quantity\":");
    buf_put_u64(out, quantity);
    buf_puts(out, ",\"unit_price_cents\":");
    buf_put_u64(out, price);
    buf_puts(out, ",\"total_cents\":");
    buf_put_u64(out, quantity * price);  // at most 10^18 < 2^64
    buf_putc(out, '}');
    *region_out = region;
    ok = true;
done:
    for (int f = 0; f < F_COUNT; f++) free(fields[f].str.ptr);
    return ok;
}

// ------------------------------------------------ the exports (wit-bindgen c)

static void set_string(transformer_string_t *dst, const char *s) {
    size_t n = strlen(s);
    dst->ptr = malloc(n ? n : 1);
    if (!dst->ptr) abort();
    memcpy(dst->ptr, s, n);
    dst->len = n;
}

bool exports_transformer_init(transformer_list_tuple2_string_string_t *config, transformer_string_t *err) {
    bool ok = true;
    if (config->len > 0) {
        const transformer_string_t *key = &config->ptr[0].f0;
        buf_t msg = {0};
        buf_puts(&msg, "unknown config key \"");
        buf_put(&msg, key->ptr, key->len);
        buf_putc(&msg, '"');
        err->ptr = msg.ptr;
        err->len = msg.len;
        ok = false;
    }
    transformer_list_tuple2_string_string_free(config);
    return ok;
}

bool exports_transformer_transform(transformer_input_record_t *record,
                                   transformer_list_output_record_t *ret,
                                   transformer_error_t *err) {
    bool ok = false;
    if (!record->value.is_some) {
        err->tag = EOSHOST_TRANSFORM_TYPES_ERROR_REJECTED;
        set_string(&err->val.rejected, "value is missing");
        goto done;
    }
    buf_t out = {0}, reason = {0};
    const char *region = NULL;
    if (!enrich(record->value.val.ptr, record->value.val.len, &out, &reason, &region)) {
        free(out.ptr);
        err->tag = EOSHOST_TRANSFORM_TYPES_ERROR_REJECTED;
        err->val.rejected.ptr = reason.ptr;
        err->val.rejected.len = reason.len;
        goto done;
    }

    transformer_output_record_t *o = calloc(1, sizeof *o);
    if (!o) abort();
    o->topic.is_some = false;
    // The key moves from the input to the output: no copy.
    o->key = record->key;
    record->key.is_some = false;
    o->value.is_some = true;
    o->value.val.ptr = out.ptr;
    o->value.val.len = out.len;

    // Headers: move every header but `region`, then append ours.
    eoshost_transform_types_list_header_t *in = &record->headers;
    eoshost_transform_types_header_t *hs = malloc((in->len + 1) * sizeof *hs);
    if (!hs) abort();
    size_t nh = 0;
    for (size_t k = 0; k < in->len; k++) {
        eoshost_transform_types_header_t *h = &in->ptr[k];
        if (h->key.len == 6 && memcmp(h->key.ptr, "region", 6) == 0) {
            eoshost_transform_types_header_free(h);
        } else {
            hs[nh++] = *h;
        }
    }
    free(in->ptr);
    in->ptr = NULL;
    in->len = 0;
    set_string(&hs[nh].key, "region");
    size_t rlen = strlen(region);
    hs[nh].value.ptr = malloc(rlen);
    if (!hs[nh].value.ptr) abort();
    memcpy(hs[nh].value.ptr, region, rlen);
    hs[nh].value.len = rlen;
    nh++;
    o->headers.ptr = hs;
    o->headers.len = nh;

    ret->ptr = o;
    ret->len = 1;
    ok = true;
done:
    transformer_input_record_free(record);
    return ok;
}
