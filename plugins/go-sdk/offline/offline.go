//go:build !wasip1

// Package offline runs a Go plugin natively over the JSONL records of
// `eoshost test` and prints what `eoshost test` would print, so that the
// plugin's `go test` checks a conformance suite (tests/conformance/NAME/:
// input.jsonl, expected.jsonl, table files) byte for byte without building
// the component. Native tests only.
//
// Input, one JSON object a line (blank lines skipped, but counted for the
// default offset): `value` or `value_b64` (required), `key` or `key_b64`,
// `topic` (default "test"), `partition`, `offset` (default: the 0-based
// line number), `timestamp`, `headers` (an object of strings, in order).
// Output, one line per output record,
// `{"topic":…,["key_b64":…,]"key":…,["value_b64":…,]"value":…,"headers":{…}}`
// (bytes that are not UTF-8 in the `_b64` twin), or `{"offset":N,"error":"…"}`
// per rejected record. A panic (a trap in the component) is not caught.
package offline

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"eoshost.local/go-sdk/eoshost"
	"eoshost.local/go-sdk/strictjson"
)

// Transform is a plugin's transform function.
type Transform func(rec *eoshost.InputRecord) ([]eoshost.OutputRecord, error)

// Run calls transform once per record line of input and returns the lines
// `eoshost test` prints for them. An error names the bad line.
func Run(input []byte, transform Transform) (string, error) {
	var out []byte
	err := eachRecord(input, func(rec *eoshost.InputRecord) error {
		outs, err := transform(rec)
		if err != nil {
			out = append(out, `{"offset":`...)
			out = strconv.AppendInt(out, rec.Offset, 10)
			out = append(out, `,"error":`...)
			out = strictjson.AppendString(out, []byte(err.Error()))
			out = append(out, "}\n"...)
			return nil
		}
		for _, o := range outs {
			out = appendOutput(out, &o)
		}
		return nil
	})
	return string(out), err
}

// LoadTable makes the records of a table file (the FILE of `eoshost test
// --table NAME=FILE.jsonl`: `key` and `value` a line, the last line of a
// key winning) the native test table name (eoshost.SetTestTable).
func LoadTable(name string, file []byte) error {
	rows := map[string]string{}
	err := eachRecord(file, func(rec *eoshost.InputRecord) error {
		if rec.Key == nil {
			return errors.New(`a table row needs a "key" (or "key_b64")`)
		}
		rows[string(rec.Key)] = string(rec.Value)
		return nil
	})
	if err != nil {
		return err
	}
	eoshost.SetTestTable(name, rows)
	return nil
}

// Compare returns nil when got equals want, else an error quoting the
// first line that differs.
func Compare(want, got string) error {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for n := 0; n < len(w) || n < len(g); n++ {
		var wl, gl string
		if n < len(w) {
			wl = w[n]
		}
		if n < len(g) {
			gl = g[n]
		}
		if wl != gl || (n < len(w)) != (n < len(g)) {
			return fmt.Errorf("line %d differs:\nwant %.300s\ngot  %.300s", n+1, wl, gl)
		}
	}
	return nil
}

// line is one input line, as `eoshost test` reads it.
type line struct {
	Topic     *string         `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    *int64          `json:"offset"`
	Timestamp *int64          `json:"timestamp"`
	Key       *string         `json:"key"`
	KeyB64    *string         `json:"key_b64"`
	Value     *string         `json:"value"`
	ValueB64  *string         `json:"value_b64"`
	Headers   json.RawMessage `json:"headers"`
}

func eachRecord(input []byte, record func(*eoshost.InputRecord) error) error {
	for index, text := range strings.Split(string(input), "\n") {
		text = strings.TrimSuffix(text, "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		rec, err := parseLine(text, int64(index))
		if err == nil {
			err = record(rec)
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", index+1, err)
		}
	}
	return nil
}

func parseLine(text string, index int64) (*eoshost.InputRecord, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	var l line
	if err := dec.Decode(&l); err != nil {
		return nil, err
	}
	value, err := bytesField(l.Value, l.ValueB64)
	if err != nil {
		return nil, err
	}
	if value == nil {
		return nil, errors.New(`missing "value" (or "value_b64")`)
	}
	rec := &eoshost.InputRecord{Topic: "test", Partition: l.Partition, Offset: index, Value: value}
	if l.Topic != nil {
		rec.Topic = *l.Topic
	}
	if l.Offset != nil {
		rec.Offset = *l.Offset
	}
	if l.Timestamp != nil {
		rec.Timestamp, rec.HasTimestamp = *l.Timestamp, true
	}
	if rec.Key, err = bytesField(l.Key, l.KeyB64); err != nil {
		return nil, err
	}
	if len(l.Headers) > 0 {
		if rec.Headers, err = readHeaders(l.Headers); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func bytesField(text, b64 *string) ([]byte, error) {
	switch {
	case text != nil && b64 != nil:
		return nil, errors.New("give a field or its _b64 twin, not both")
	case text != nil:
		return []byte(*text), nil
	case b64 != nil:
		return base64.StdEncoding.DecodeString(*b64)
	}
	return nil, nil
}

// readHeaders decodes the "headers" object keeping its order.
func readHeaders(raw json.RawMessage) ([]eoshost.Header, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var hs []eoshost.Header
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("header %q must be a string", k)
		}
		hs = append(hs, eoshost.Header{Key: k.(string), Value: []byte(v)})
	}
	return hs, nil
}

func appendOutput(out []byte, o *eoshost.OutputRecord) []byte {
	out = append(out, `{"topic":`...)
	if o.Topic == "" {
		out = append(out, "null"...)
	} else {
		out = strictjson.AppendString(out, []byte(o.Topic))
	}
	out = appendBytesField(out, "key", o.Key)
	out = appendBytesField(out, "value", o.Value)
	// As a JSON object: a repeated header keeps its first position and its
	// last value; values are shown as text, each run of invalid UTF-8 as
	// one U+FFFD (eoshost replaces each bad sequence: a value of several
	// bad bytes may show differently).
	var names []string
	last := map[string][]byte{}
	for _, h := range o.Headers {
		if _, seen := last[h.Key]; !seen {
			names = append(names, h.Key)
		}
		last[h.Key] = h.Value
	}
	out = append(out, `,"headers":{`...)
	for i, name := range names {
		if i > 0 {
			out = append(out, ',')
		}
		out = strictjson.AppendString(out, []byte(name))
		out = append(out, ':')
		out = strictjson.AppendString(out, bytes.ToValidUTF8(last[name], []byte("\uFFFD")))
	}
	return append(out, "}}\n"...)
}

// appendBytesField writes `,"name":…`: text when b is UTF-8, else
// `,"name_b64":"…","name":null`; null when b is nil.
func appendBytesField(out []byte, name string, b []byte) []byte {
	switch {
	case b == nil:
		return append(out, `,"`+name+`":null`...)
	case utf8.Valid(b):
		out = append(out, `,"`+name+`":`...)
		return strictjson.AppendString(out, b)
	default:
		out = append(out, `,"`+name+`_b64":"`...)
		out = base64.StdEncoding.AppendEncode(out, b)
		return append(out, `","`+name+`":null`...)
	}
}
