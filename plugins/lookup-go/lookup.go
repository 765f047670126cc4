// The lookup plugin: its configuration, what eoshost calls (registered in
// main.go) and the rules, in plain Go over eoshost.TableGet.
//
// The output is the input object rewritten by the shared JSON rules of
// ../go-sdk/strictjson (compact, numbers as written, strings re-escaped), so
// that it is byte-identical to the Rust and Python lookup plugins.
package main

import (
	"errors"
	"unicode/utf8"

	"eoshost.local/go-sdk/eoshost"
	"eoshost.local/go-sdk/strictjson"
)

// lookup is the validated --plugin-config.
type lookup struct {
	table    string // the table to look in (NAME of --table NAME=TOPIC)
	keyField string // the input's string field whose UTF-8 bytes are the key
	as       string // the output field that gets the table value
}

// configKeys are the plugin's configuration keys, all required, in the
// order a missing one is reported, with what they mean (for that report).
var configKeys = [...]string{"table", "key_field", "as"}

var configMeanings = [len(configKeys)]string{
	"the NAME of the --table NAME=TOPIC to look up",
	"the input field whose string value is the key to look up",
	"the output field that gets the table's value",
}

var plugin lookup

// configure gets the --plugin-config KEY=VALUE pairs once per instance;
// an error stops eoshost (exit code 2) with its text.
func configure(config [][2]string) error {
	l, err := parseConfig(config)
	plugin = l
	return err
}

// parseConfig refuses an unknown key (the first, naming it), then a missing
// one. A key given twice keeps its last value.
func parseConfig(config [][2]string) (lookup, error) {
	var values [len(configKeys)]*string
	for _, kv := range config {
		i := 0
		for i < len(configKeys) && configKeys[i] != kv[0] {
			i++
		}
		if i == len(configKeys) {
			return lookup{}, errors.New(`unknown config key "` + kv[0] + `"`)
		}
		values[i] = &kv[1]
	}
	for i, v := range values {
		if v == nil {
			return lookup{}, errors.New(`config key "` + configKeys[i] + `" is required: ` + configMeanings[i])
		}
	}
	return lookup{table: *values[0], keyField: *values[1], as: *values[2]}, nil
}

// transform is called once per record: the value joined, key and headers
// unchanged, to the default output.
func transform(rec *eoshost.InputRecord) ([]eoshost.OutputRecord, error) {
	if rec.Value == nil {
		return nil, eoshost.Rejected("value is missing")
	}
	out, reason := plugin.apply(rec.Value)
	if reason != "" {
		return nil, eoshost.Rejected(reason)
	}
	return []eoshost.OutputRecord{{Key: rec.Key, Value: out, Headers: rec.Headers}}, nil
}

// member is one top-level member of the input object, compacted.
type member struct {
	key   []byte // decoded
	value []byte // compact JSON
}

var null = []byte("null")

// apply joins one record value: the output value, or a rejection reason.
func (l *lookup) apply(value []byte) (out []byte, reason string) {
	if !utf8.Valid(value) {
		return nil, "value is not valid JSON"
	}
	members, key, keyIsString, reason := l.readObject(value)
	if reason != "" {
		return nil, reason
	}

	joined := null
	if keyIsString {
		if found, ok := eoshost.TableGet(l.table, key); ok {
			// Compacting never lengthens: an escape is written no longer
			// than it was, whitespace goes.
			if joined, ok = strictjson.AppendCompact(make([]byte, 0, len(found)), found); !ok {
				return nil, "the value of key " + quote(string(key)) + " in table " + quote(l.table) + " is not valid JSON"
			}
		}
	}
	asAt := len(members)
	for i := range members {
		if string(members[i].key) == l.as {
			asAt = i
			break
		}
	}
	if asAt == len(members) {
		members = append(members, member{key: []byte(l.as)})
	}
	members[asAt].value = joined

	out = make([]byte, 0, len(value)+len(l.as)+len(joined)+4)
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		out = strictjson.AppendString(out, m.key)
		out = append(out, ':')
		out = append(out, m.value...)
	}
	return append(out, '}'), ""
}

// readObject reads the input object: its members in the order of their
// first appearance, each with its last value, and the decoded text of the
// field keyField if that is a string.
func (l *lookup) readObject(value []byte) (members []member, key []byte, keyIsString bool, reason string) {
	s := strictjson.Scanner{Src: value}
	s.SkipSpace()
	if s.Pos >= len(value) || value[s.Pos] != '{' {
		if s.Value(nil) {
			if s.SkipSpace(); s.Pos == len(value) {
				return nil, nil, false, "value is not a JSON object"
			}
		}
		return nil, nil, false, "value is not valid JSON"
	}
	index := map[string]int{}             // key → position in members
	values := make([]byte, 0, len(value)) // the members' compact values, end to end (never longer)
	ok := s.Object(func(name []byte) bool {
		start := len(values)
		if string(name) == l.keyField && s.Pos < len(value) && value[s.Pos] == '"' {
			key = key[:0]
			if !s.String(&key) {
				return false
			}
			keyIsString = true
			values = strictjson.AppendString(values, key)
		} else {
			if string(name) == l.keyField {
				keyIsString = false
			}
			if !s.Value(&values) {
				return false
			}
		}
		// Capped, so that later appends to values never write into it.
		m := member{value: values[start:len(values):len(values)]}
		if i, seen := index[string(name)]; seen {
			members[i].value = m.value
			return true
		}
		m.key = append([]byte(nil), name...)
		index[string(m.key)] = len(members)
		members = append(members, m)
		return true
	})
	s.SkipSpace()
	if !ok || s.Pos != len(value) {
		return nil, nil, false, "value is not valid JSON"
	}
	return members, key, keyIsString, ""
}

// quote writes text as a JSON string, for a rejection reason.
func quote(text string) string { return string(strictjson.AppendString(nil, []byte(text))) }
