//go:build !wasip1

package eoshost

import (
	"strings"
	"testing"
)

func TestTableGetFindsTheTestTablesRowsOnly(t *testing.T) {
	ClearTestTables()
	SetTestTable("customers", map[string]string{"c1": `{"name":"Ada"}`, "c2": ""})
	if v, ok := TableGet("customers", []byte("c1")); !ok || string(v) != `{"name":"Ada"}` {
		t.Fatalf("c1: %q, %v", v, ok)
	}
	if v, ok := TableGet("customers", []byte("c2")); !ok || v == nil || len(v) != 0 {
		t.Fatalf("an empty value is found, not absent: %q, %v", v, ok)
	}
	if v, ok := TableGet("customers", []byte("c3")); ok || v != nil {
		t.Fatalf("c3: %q, %v", v, ok)
	}
}

func TestTableGetOfATableNeverGivenPanicsNamingTheFlag(t *testing.T) {
	ClearTestTables()
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "--table products=TOPIC") {
			t.Fatalf("got %q", msg)
		}
	}()
	TableGet("products", []byte("p1"))
}
