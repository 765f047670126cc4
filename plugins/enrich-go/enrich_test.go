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
	for index, line := range strings.Split(string(input), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec struct {
			Offset   *int64          `json:"offset"`
			Key      *string         `json:"key"`
			KeyB64   *string         `json:"key_b64"`
			Value    *string         `json:"value"`
			ValueB64 *string         `json:"value_b64"`
			Headers  json.RawMessage `json:"headers"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d: %v", index, err)
		}
		offset := int64(index)
		if rec.Offset != nil {
			offset = *rec.Offset
		}
		var value []byte
		if rec.Value != nil {
			value = []byte(*rec.Value)
		} else if rec.ValueB64 != nil {
			value, _ = base64.StdEncoding.DecodeString(*rec.ValueB64)
		} else {
			t.Fatalf("line %d: no value", index)
		}
		key := "null"
		if rec.Key != nil {
			key = jsonString(*rec.Key)
		} else if rec.KeyB64 != nil {
			k, _ := base64.StdEncoding.DecodeString(*rec.KeyB64)
			key = jsonString(string(k))
		}
		var hs []header
		if len(rec.Headers) > 0 {
			if hs, err = readHeaders(rec.Headers); err != nil {
				t.Fatalf("line %d: %v", index, err)
			}
		}
		out, region, reason := Enrich(value)
		if reason != "" {
			fmt.Fprintf(&got, `{"offset":%s,"error":%s}`+"\n", strconv.FormatInt(offset, 10), jsonString(reason))
			continue
		}
		var h strings.Builder
		for _, x := range hs {
			if x.key != "region" {
				h.WriteString(jsonString(x.key) + ":" + jsonString(x.value) + ",")
			}
		}
		h.WriteString(`"region":` + jsonString(region))
		fmt.Fprintf(&got, `{"topic":null,"key":%s,"value":%s,"headers":{%s}}`+"\n", key, jsonString(string(out)), h.String())
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
