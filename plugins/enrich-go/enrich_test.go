//go:build !wasip1

package main

// Runs the shared conformance suite against the rules natively:
//     cd plugins/enrich-go && go test
// (the component itself is checked with `eoshost test`, see plugins/README.md).

import (
	"os"
	"testing"

	"eoshost.local/go-sdk/offline"
)

const suite = "../../tests/conformance/enrich/"

func TestConformance(t *testing.T) {
	input, err := os.ReadFile(suite + "input.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	expected, err := os.ReadFile(suite + "expected.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	got, err := offline.Run(input, transform)
	if err != nil {
		t.Fatal(err)
	}
	if err := offline.Compare(string(expected), got); err != nil {
		t.Fatalf("expected.jsonl: %v", err)
	}
}
