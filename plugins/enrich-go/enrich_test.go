package main

// Runs the shared conformance suite against the rules natively:
//     cd plugins/enrich-go && go test
// (the component itself is checked with `eoshost test`, see plugins/README.md).

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

const suite = "../../tests/conformance/enrich/"

type header struct{ key, value string }

// readHeaders decodes the "headers" object keeping its order.
func readHeaders(raw json.RawMessage) ([]header, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var hs []header
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		hs = append(hs, header{k.(string), v})
	}
	return hs, nil
}

func jsonString(s string) string { return string(appendJSONString(nil, []byte(s))) }

func TestConformance(t *testing.T) {
	input, err := os.ReadFile(suite + "input.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	expected, err := os.ReadFile(suite + "expected.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for index, text := range strings.Split(string(input), "\n") {
		if strings.TrimSpace(text) == "" {
			continue
		}
		var line struct {
			Offset   *int64          `json:"offset"`
			Key      *string         `json:"key"`
			KeyB64   *string         `json:"key_b64"`
			Value    *string         `json:"value"`
			ValueB64 *string         `json:"value_b64"`
			Headers  json.RawMessage `json:"headers"`
		}
		if err := json.Unmarshal([]byte(text), &line); err != nil {
			t.Fatalf("line %d: %v", index, err)
		}
		offset := int64(index)
		if line.Offset != nil {
			offset = *line.Offset
		}
		var value []byte
		if line.Value != nil {
			value = []byte(*line.Value)
		} else if line.ValueB64 != nil {
			value, _ = base64.StdEncoding.DecodeString(*line.ValueB64)
		} else {
			t.Fatalf("line %d: no value", index)
		}
		key, keyText := "null", ""
		if line.Key != nil {
			key, keyText = jsonString(*line.Key), *line.Key
		} else if line.KeyB64 != nil {
			k, _ := base64.StdEncoding.DecodeString(*line.KeyB64)
			key, keyText = jsonString(string(k)), string(k)
		}
		var hs []header
		if len(line.Headers) > 0 {
			if hs, err = readHeaders(line.Headers); err != nil {
				t.Fatalf("line %d: %v", index, err)
			}
		}
		rec := InputRecord{Value: value}
		if rec.Value == nil {
			rec.Value = []byte{}
		}
		if key != "null" {
			rec.Key = []byte(keyText)
		}
		for _, h := range hs {
			rec.Headers = append(rec.Headers, Header{Key: h.key, Value: []byte(h.value)})
		}
		outs, err := transform(&rec)
		if err != nil {
			fmt.Fprintf(&got, `{"offset":%s,"error":%s}`+"\n", strconv.FormatInt(offset, 10), jsonString(err.Error()))
			continue
		}
		for _, o := range outs {
			topic, okey := "null", "null"
			if o.Topic != "" {
				topic = jsonString(o.Topic)
			}
			if o.Key != nil {
				okey = jsonString(string(o.Key))
			}
			var h strings.Builder
			for i, x := range o.Headers {
				if i > 0 {
					h.WriteString(",")
				}
				h.WriteString(jsonString(x.Key) + ":" + jsonString(string(x.Value)))
			}
			fmt.Fprintf(&got, `{"topic":%s,"key":%s,"value":%s,"headers":{%s}}`+"\n", topic, okey, jsonString(string(o.Value)), h.String())
		}
	}
	want := bufio.NewScanner(bytes.NewReader(expected))
	want.Buffer(nil, 1<<20)
	have := bufio.NewScanner(strings.NewReader(got.String()))
	have.Buffer(nil, 1<<20)
	for n := 1; ; n++ {
		w, h := want.Scan(), have.Scan()
		if !w && !h {
			return
		}
		if w != h || want.Text() != have.Text() {
			t.Fatalf("expected.jsonl line %d differs:\nwant %.300s\ngot  %.300s", n, want.Text(), have.Text())
		}
	}
}
