// The enrich rules, in plain Go (no wasm, no bindings): `go test` runs them
// natively against tests/conformance/enrich.
//
// The JSON reader is a strict RFC 8259 validator that keeps only the
// top-level members it needs. It is iterative (no recursion), so nesting
// depth is bounded by memory, not by the stack. encoding/json is not used:
// it replaces invalid UTF-8 and lone surrogates instead of rejecting them,
// and it would pull reflection into the component.
package main

import "strconv"

const (
	fOrderID = iota
	fCustomerID
	fCountry
	fQuantity
	fUnitPrice
	fieldCount
)

var fieldNames = [fieldCount]string{"order_id", "customer_id", "country", "quantity", "unit_price_cents"}

type kind uint8

const (
	kMissing kind = iota
	kString
	kInt
	kOther
)

type field struct {
	kind  kind
	str   []byte // kString: the decoded text
	token []byte // kInt: the number token
}

// Enrich applies the rules to a record value (never nil here). It returns the
// output value and the region, or a rejection reason.
func Enrich(value []byte) (out []byte, region string, reason string) {
	if !utf8Valid(value) {
		return nil, "", "value is not valid JSON"
	}
	var fields [fieldCount]field
	isObject, ok := parseDocument(value, &fields)
	if !ok {
		return nil, "", "value is not valid JSON"
	}
	if !isObject {
		return nil, "", "value is not a JSON object"
	}
	var ints [fieldCount]uint64
	for f := 0; f < fieldCount; f++ {
		if r := checkField(&fields[f], f, &ints[f]); r != "" {
			return nil, "", r
		}
	}
	region = regionOf(string(fields[fCountry].str))
	out = make([]byte, 0, 128+len(fields[fOrderID].str)+len(fields[fCustomerID].str)+len(fields[fCountry].str))
	out = append(out, `{"order_id":`...)
	out = appendJSONString(out, fields[fOrderID].str)
	out = append(out, `,"customer_id":`...)
	out = appendJSONString(out, fields[fCustomerID].str)
	out = append(out, `,"country":`...)
	out = appendJSONString(out, fields[fCountry].str)
	out = append(out, `,"region":"`...)
	out = append(out, region...)
	out = append(out, `","quantity":`...)
	out = strconv.AppendUint(out, ints[fQuantity], 10)
	out = append(out, `,"unit_price_cents":`...)
	out = strconv.AppendUint(out, ints[fUnitPrice], 10)
	out = append(out, `,"total_cents":`...)
	out = strconv.AppendUint(out, ints[fQuantity]*ints[fUnitPrice], 10) // at most 10^18 < 2^64
	out = append(out, '}')
	return out, region, ""
}

func checkField(fd *field, f int, intOut *uint64) string {
	name := fieldNames[f]
	if fd.kind == kMissing {
		return `missing field "` + name + `"`
	}
	if f < fQuantity {
		if fd.kind != kString {
			return `field "` + name + `" must be a string`
		}
		return ""
	}
	if fd.kind != kInt {
		return `field "` + name + `" must be an integer`
	}
	digits := fd.token
	negative := digits[0] == '-'
	if negative {
		digits = digits[1:]
	}
	var v uint64
	if len(digits) <= 10 {
		for _, d := range digits {
			v = v*10 + uint64(d-'0')
		}
	}
	if len(digits) > 10 || (negative && v != 0) || v > 1000000000 {
		return `field "` + name + `" must be between 0 and 1000000000`
	}
	*intOut = v
	return ""
}

func regionOf(country string) string {
	switch country {
	case "DE", "FR", "NL", "ES", "IT", "PL", "SE":
		return "EU"
	case "US", "CA", "MX":
		return "NA"
	case "JP", "CN", "IN", "SG", "AU", "KR":
		return "APAC"
	}
	return "OTHER"
}

// appendJSONString escapes only '"', '\' and U+0000..U+001F.
func appendJSONString(out, s []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for _, c := range s {
		switch c {
		case '"':
			out = append(out, '\\', '"')
		case '\\':
			out = append(out, '\\', '\\')
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			if c < 0x20 {
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				out = append(out, c)
			}
		}
	}
	return append(out, '"')
}

func utf8Valid(s []byte) bool {
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		if c < 0x80 {
			i++
			continue
		}
		var size int
		var cp, min uint32
		switch {
		case c >= 0xC2 && c <= 0xDF:
			size, cp, min = 2, uint32(c&0x1F), 0x80
		case c >= 0xE0 && c <= 0xEF:
			size, cp, min = 3, uint32(c&0x0F), 0x800
		case c >= 0xF0 && c <= 0xF4:
			size, cp, min = 4, uint32(c&0x07), 0x10000
		default:
			return false
		}
		if n-i < size {
			return false
		}
		for k := 1; k < size; k++ {
			cc := s[i+k]
			if cc&0xC0 != 0x80 {
				return false
			}
			cp = cp<<6 | uint32(cc&0x3F)
		}
		if cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) {
			return false
		}
		i += size
	}
	return true
}

func appendUTF8(out []byte, cp rune) []byte {
	switch {
	case cp < 0x80:
		return append(out, byte(cp))
	case cp < 0x800:
		return append(out, byte(0xC0|cp>>6), byte(0x80|cp&0x3F))
	case cp < 0x10000:
		return append(out, byte(0xE0|cp>>12), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F))
	default:
		return append(out, byte(0xF0|cp>>18), byte(0x80|(cp>>12)&0x3F), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F))
	}
}

type parser struct {
	s []byte
	i int
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func hex4(s []byte) int {
	if len(s) < 4 {
		return -1
	}
	v := 0
	for _, c := range s[:4] {
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'f':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int(c-'A') + 10
		default:
			return -1
		}
		v = v*16 + d
	}
	return v
}

// str reads the string at the opening quote; it decodes it into *out if out
// is not nil. The input is already known to be valid UTF-8.
func (p *parser) str(out *[]byte) bool {
	s, n := p.s, len(p.s)
	i := p.i + 1
	for {
		start := i
		for i < n && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20 {
			i++
		}
		if out != nil {
			*out = append(*out, s[start:i]...)
		}
		if i >= n {
			return false
		}
		c := s[i]
		if c == '"' {
			p.i = i + 1
			return true
		}
		if c < 0x20 || i+1 >= n { // raw control character, or a lone backslash at the end
			return false
		}
		e := s[i+1]
		i += 2
		var simple byte
		switch e {
		case '"', '\\', '/':
			simple = e
		case 'b':
			simple = '\b'
		case 'f':
			simple = '\f'
		case 'n':
			simple = '\n'
		case 'r':
			simple = '\r'
		case 't':
			simple = '\t'
		case 'u':
			cp := hex4(s[i:])
			if cp < 0 {
				return false
			}
			i += 4
			if cp >= 0xDC00 && cp <= 0xDFFF { // lone low surrogate
				return false
			}
			if cp >= 0xD800 && cp <= 0xDBFF {
				if n-i < 6 || s[i] != '\\' || s[i+1] != 'u' {
					return false
				}
				lo := hex4(s[i+2:])
				if lo < 0xDC00 || lo > 0xDFFF {
					return false
				}
				i += 6
				cp = 0x10000 + (cp-0xD800)<<10 + (lo - 0xDC00)
			}
			if out != nil {
				*out = appendUTF8(*out, rune(cp))
			}
			continue
		default:
			return false
		}
		if out != nil {
			*out = append(*out, simple)
		}
	}
}

// number reads a number token; isInt tells whether it has no fraction and no exponent.
func (p *parser) number() (isInt, ok bool) {
	s, n, i := p.s, len(p.s), p.i
	if i < n && s[i] == '-' {
		i++
	}
	if i >= n || !isDigit(s[i]) {
		return false, false
	}
	if s[i] == '0' {
		i++
	} else {
		for i < n && isDigit(s[i]) {
			i++
		}
	}
	isInt = true
	if i < n && s[i] == '.' {
		i++
		if i >= n || !isDigit(s[i]) {
			return false, false
		}
		for i < n && isDigit(s[i]) {
			i++
		}
		isInt = false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= n || !isDigit(s[i]) {
			return false, false
		}
		for i < n && isDigit(s[i]) {
			i++
		}
		isInt = false
	}
	p.i = i
	return isInt, true
}

func (p *parser) literal(word string) bool {
	if len(p.s)-p.i < len(word) || string(p.s[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

// memberKey reads `"key" :` and the whitespace after it. For a member of the
// top-level object it returns the index of the field the key names, or -1.
func (p *parser) memberKey(top bool, key *[]byte) (int, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return -1, false
	}
	var ok bool
	if top {
		*key = (*key)[:0]
		ok = p.str(key)
	} else {
		ok = p.str(nil)
	}
	if !ok {
		return -1, false
	}
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != ':' {
		return -1, false
	}
	p.i++
	p.ws()
	if !top {
		return -1, true
	}
	for f, name := range fieldNames {
		if string(*key) == name {
			return f, true
		}
	}
	return -1, true
}

// parseDocument validates the whole document. It tells whether the top-level
// value is an object and fills fields with the members we need (duplicates:
// the last one wins).
func parseDocument(s []byte, fields *[fieldCount]field) (isObject, ok bool) {
	p := parser{s: s}
	n := len(s)
	var stack []byte // one byte per open container: '{' or '['
	var key []byte
	cur := -1 // the top-level member whose value comes next, if we need it
	p.ws()
	isObject = p.i < n && s[p.i] == '{'
	for {
		// ---- a value starts here
		if p.i >= n {
			return false, false
		}
		c := s[p.i]
		var f *field
		if len(stack) == 1 && stack[0] == '{' && cur >= 0 {
			f = &fields[cur]
		}
		switch {
		case c == '{' || c == '[':
			if f != nil {
				*f = field{kind: kOther}
			}
			stack = append(stack, c)
			p.i++
			p.ws()
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			if p.i < n && s[p.i] == closer {
				p.i++
				stack = stack[:len(stack)-1]
			} else {
				if c == '{' {
					if cur, ok = p.memberKey(len(stack) == 1, &key); !ok {
						return false, false
					}
				}
				continue
			}
		case c == '"':
			if f != nil {
				*f = field{kind: kString, str: f.str[:0]}
				if !p.str(&f.str) {
					return false, false
				}
			} else if !p.str(nil) {
				return false, false
			}
		case c == '-' || isDigit(c):
			start := p.i
			isInt, ok := p.number()
			if !ok {
				return false, false
			}
			if f != nil {
				if isInt {
					*f = field{kind: kInt, token: s[start:p.i]}
				} else {
					*f = field{kind: kOther}
				}
			}
		default:
			word := "null"
			if c == 't' {
				word = "true"
			} else if c == 'f' {
				word = "false"
			}
			if !p.literal(word) {
				return false, false
			}
			if f != nil {
				*f = field{kind: kOther}
			}
		}
		// ---- after a value: close containers, or go on after a comma
		for {
			p.ws()
			if len(stack) == 0 {
				return isObject, p.i == n
			}
			open := stack[len(stack)-1]
			if p.i >= n {
				return false, false
			}
			c = s[p.i]
			if c == ',' {
				p.i++
				p.ws()
				if open == '{' {
					if cur, ok = p.memberKey(len(stack) == 1, &key); !ok {
						return false, false
					}
				}
				break
			}
			if (open == '{' && c != '}') || (open == '[' && c != ']') {
				return false, false
			}
			p.i++
			stack = stack[:len(stack)-1]
		}
	}
}
