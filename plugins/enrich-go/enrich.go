// The enrich rules, in plain Go (no wasm, no bindings): `go test` runs them
// natively against tests/conformance/enrich.
//
// The JSON reader validates the whole document with the shared strict
// scanner (../go-sdk/strictjson) and keeps only the top-level members it
// needs. It is iterative (no recursion), so nesting depth is bounded by
// memory, not by the stack.
package main

import (
	"strconv"
	"unicode/utf8"

	"eoshost.local/go-sdk/strictjson"
)

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
	if !utf8.Valid(value) {
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
	out = strictjson.AppendString(out, fields[fOrderID].str)
	out = append(out, `,"customer_id":`...)
	out = strictjson.AppendString(out, fields[fCustomerID].str)
	out = append(out, `,"country":`...)
	out = strictjson.AppendString(out, fields[fCountry].str)
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

// parseDocument validates the whole document. It tells whether the top-level
// value is an object and fills fields with the members we need (duplicates:
// the last one wins).
func parseDocument(s []byte, fields *[fieldCount]field) (isObject, ok bool) {
	p := strictjson.Scanner{Src: s}
	p.SkipSpace()
	isObject = p.Pos < len(s) && s[p.Pos] == '{'
	if isObject {
		ok = p.Object(func(key []byte) bool { return readMember(&p, key, fields) })
	} else {
		ok = p.Value(nil)
	}
	p.SkipSpace()
	return isObject, ok && p.Pos == len(s)
}

// readMember reads the value of the top-level member key, into fields if it
// is one we need.
func readMember(p *strictjson.Scanner, key []byte, fields *[fieldCount]field) bool {
	f := fieldOf(key)
	if f < 0 || p.Pos >= len(p.Src) {
		return p.Value(nil)
	}
	fd := &fields[f]
	switch c := p.Src[p.Pos]; {
	case c == '"':
		*fd = field{kind: kString, str: fd.str[:0]}
		return p.String(&fd.str)
	case c == '-' || strictjson.IsDigit(c):
		start := p.Pos
		isInt, ok := p.Number()
		if isInt {
			*fd = field{kind: kInt, token: p.Src[start:p.Pos]}
		} else {
			*fd = field{kind: kOther}
		}
		return ok
	default:
		*fd = field{kind: kOther}
		return p.Value(nil)
	}
}

// fieldOf returns the index of the field key names, or -1.
func fieldOf(key []byte) int {
	for f, name := range fieldNames {
		if string(key) == name {
			return f
		}
	}
	return -1
}
