// Package strictjson holds the JSON rules the eoshost plugins of every
// language share, so that their outputs are byte-identical: a strict RFC 8259
// reader (trailing data, leading zeros, lone surrogate escapes, NaN and
// Infinity are invalid; no depth limit) and a writer that escapes only '"',
// '\' and U+0000..U+001F and copies number tokens as written.
//
// encoding/json is not used: it replaces invalid UTF-8 and lone surrogates
// instead of rejecting them, escapes '<', '>', '&' and U+2028/U+2029, and
// would pull reflection into the component. Everything here is iterative (no
// recursion), so nesting depth is bounded by memory, not by the wasm stack.
//
// The input must be valid UTF-8 (utf8.Valid) before a Scanner reads it;
// AppendCompact checks that itself.
package strictjson

import "unicode/utf8"

// Scanner reads JSON tokens from Src, starting at Pos. A method that fails
// returns false and leaves Pos somewhere inside the bad token.
type Scanner struct {
	Src []byte
	Pos int

	key  []byte // Object's decoded member key
	text []byte // Value's decoded strings, before they are re-escaped
}

// SkipSpace moves Pos past JSON whitespace (space, tab, LF, CR).
func (s *Scanner) SkipSpace() {
	for s.Pos < len(s.Src) {
		switch s.Src[s.Pos] {
		case ' ', '\t', '\n', '\r':
			s.Pos++
		default:
			return
		}
	}
}

// String reads the string whose opening quote is at Pos. If out is not nil
// it appends the decoded text to *out (escapes resolved, UTF-8).
func (s *Scanner) String(out *[]byte) bool {
	src, n := s.Src, len(s.Src)
	i := s.Pos + 1
	for {
		start := i
		for i < n && src[i] != '"' && src[i] != '\\' && src[i] >= 0x20 {
			i++
		}
		if out != nil {
			*out = append(*out, src[start:i]...)
		}
		if i >= n {
			return false
		}
		c := src[i]
		if c == '"' {
			s.Pos = i + 1
			return true
		}
		if c < 0x20 || i+1 >= n { // a raw control character, or a lone backslash at the end
			return false
		}
		e := src[i+1]
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
			cp := hex4(src[i:])
			if cp < 0 {
				return false
			}
			i += 4
			if cp >= 0xDC00 && cp <= 0xDFFF { // a lone low surrogate
				return false
			}
			if cp >= 0xD800 && cp <= 0xDBFF { // a high surrogate needs a low one next
				if n-i < 6 || src[i] != '\\' || src[i+1] != 'u' {
					return false
				}
				lo := hex4(src[i+2:])
				if lo < 0xDC00 || lo > 0xDFFF {
					return false
				}
				i += 6
				cp = 0x10000 + (cp-0xD800)<<10 + (lo - 0xDC00)
			}
			if out != nil {
				*out = utf8.AppendRune(*out, rune(cp))
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

// Number reads the number token at Pos; isInt tells whether it has neither
// a fraction nor an exponent. The token is Src[start:Pos] afterwards.
func (s *Scanner) Number() (isInt, ok bool) {
	src, n, i := s.Src, len(s.Src), s.Pos
	if i < n && src[i] == '-' {
		i++
	}
	if i >= n || !IsDigit(src[i]) {
		return false, false
	}
	if src[i] == '0' {
		i++
	} else {
		for i < n && IsDigit(src[i]) {
			i++
		}
	}
	isInt = true
	if i < n && src[i] == '.' {
		i++
		if i >= n || !IsDigit(src[i]) {
			return false, false
		}
		for i < n && IsDigit(src[i]) {
			i++
		}
		isInt = false
	}
	if i < n && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < n && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if i >= n || !IsDigit(src[i]) {
			return false, false
		}
		for i < n && IsDigit(src[i]) {
			i++
		}
		isInt = false
	}
	s.Pos = i
	return isInt, true
}

// Literal reads word (true, false or null) at Pos.
func (s *Scanner) Literal(word string) bool {
	if len(s.Src)-s.Pos < len(word) || string(s.Src[s.Pos:s.Pos+len(word)]) != word {
		return false
	}
	s.Pos += len(word)
	return true
}

// LiteralAt names the literal a value starting with byte c must be.
func LiteralAt(c byte) string {
	switch c {
	case 't':
		return "true"
	case 'f':
		return "false"
	}
	return "null"
}

// IsDigit tells whether c is an ASCII digit.
func IsDigit(c byte) bool { return c >= '0' && c <= '9' }

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

// AppendString appends text (UTF-8) as a JSON string: only '"', '\' and
// U+0000..U+001F are escaped (\b \f \n \r \t, the others as \u00xx in
// lowercase hex); everything else is written raw.
func AppendString(out, text []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	raw := 0 // text[raw:i] needs no escape: copied in one go
	for i, c := range text {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, text[raw:i]...)
		raw = i + 1
		switch c {
		case '"', '\\':
			out = append(out, '\\', c)
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
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
	}
	out = append(out, text[raw:]...)
	return append(out, '"')
}

// AppendCompact appends the JSON document doc (one value, whitespace around
// it allowed) compacted, as Value writes it. ok is false, and out unchanged,
// when doc is not valid UTF-8 or not exactly one valid JSON value.
func AppendCompact(out, doc []byte) (_ []byte, ok bool) {
	if !utf8.Valid(doc) {
		return out, false
	}
	s := Scanner{Src: doc}
	s.SkipSpace()
	n := len(out)
	if !s.Value(&out) {
		return out[:n], false
	}
	s.SkipSpace()
	if s.Pos != len(doc) {
		return out[:n], false
	}
	return out, true
}

// Value reads the value at Pos (objects and arrays whole); Pos ends right
// after it. If out is not nil it appends the value compacted: whitespace
// outside strings dropped, strings (keys too) re-escaped by AppendString,
// number tokens and members copied as written (a repeated key stays
// repeated).
func (s *Scanner) Value(out *[]byte) bool {
	n := len(s.Src)
	var open []byte // one byte per open container: '{' or '['
	for {
		// ---- a value starts here
		if s.Pos >= n {
			return false
		}
		switch c := s.Src[s.Pos]; {
		case c == '{' || c == '[':
			s.Pos++
			s.SkipSpace()
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			if s.Pos < n && s.Src[s.Pos] == closer { // empty
				s.Pos++
				if out != nil {
					*out = append(*out, c, closer)
				}
				break
			}
			if out != nil {
				*out = append(*out, c)
			}
			open = append(open, c)
			if c == '{' && !s.memberKey(out) {
				return false
			}
			continue
		case c == '"':
			if !s.string(out) {
				return false
			}
		case c == '-' || IsDigit(c):
			start := s.Pos
			if _, ok := s.Number(); !ok {
				return false
			}
			if out != nil {
				*out = append(*out, s.Src[start:s.Pos]...)
			}
		default:
			word := LiteralAt(c)
			if !s.Literal(word) {
				return false
			}
			if out != nil {
				*out = append(*out, word...)
			}
		}
		// ---- after a value: close containers, or go on after a comma
		for {
			if len(open) == 0 {
				return true
			}
			s.SkipSpace()
			if s.Pos >= n {
				return false
			}
			c := s.Src[s.Pos]
			inObject := open[len(open)-1] == '{'
			if c == ',' {
				s.Pos++
				s.SkipSpace()
				if out != nil {
					*out = append(*out, ',')
				}
				if inObject && !s.memberKey(out) {
					return false
				}
				break
			}
			if (inObject && c != '}') || (!inObject && c != ']') {
				return false
			}
			s.Pos++
			open = open[:len(open)-1]
			if out != nil {
				*out = append(*out, c)
			}
		}
	}
}

// Object reads the object whose '{' is at Pos, calling member once per
// member, in order, with the member's decoded key (valid only during the
// call) and Pos at its value. member must read the value (Value, String,
// Number, Literal) and return whether it could; a false stops the reading.
// Repeated keys are all passed on: what to make of them is the caller's.
func (s *Scanner) Object(member func(key []byte) bool) bool {
	n := len(s.Src)
	s.Pos++
	s.SkipSpace()
	if s.Pos < n && s.Src[s.Pos] == '}' {
		s.Pos++
		return true
	}
	for {
		if s.Pos >= n || s.Src[s.Pos] != '"' {
			return false
		}
		s.key = s.key[:0]
		if !s.String(&s.key) || !s.colon() || !member(s.key) {
			return false
		}
		s.SkipSpace()
		if s.Pos >= n {
			return false
		}
		switch s.Src[s.Pos] {
		case ',':
			s.Pos++
			s.SkipSpace()
		case '}':
			s.Pos++
			return true
		default:
			return false
		}
	}
}

// memberKey reads `"key":` inside Value, copying it to out if not nil, and
// moves Pos to the member's value.
func (s *Scanner) memberKey(out *[]byte) bool {
	if s.Pos >= len(s.Src) || s.Src[s.Pos] != '"' || !s.string(out) || !s.colon() {
		return false
	}
	if out != nil {
		*out = append(*out, ':')
	}
	return true
}

// colon reads the ':' after a member's key and the whitespace around it.
func (s *Scanner) colon() bool {
	s.SkipSpace()
	if s.Pos >= len(s.Src) || s.Src[s.Pos] != ':' {
		return false
	}
	s.Pos++
	s.SkipSpace()
	return true
}

// string reads a string inside Value, re-escaped into out if not nil.
func (s *Scanner) string(out *[]byte) bool {
	if out == nil {
		return s.String(nil)
	}
	s.text = s.text[:0]
	if !s.String(&s.text) {
		return false
	}
	*out = AppendString(*out, s.text)
	return true
}
