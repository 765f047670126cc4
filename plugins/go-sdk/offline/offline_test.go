//go:build !wasip1

package offline

import (
	"strings"
	"testing"

	"eoshost.local/go-sdk/eoshost"
)

func echo(rec *eoshost.InputRecord) ([]eoshost.OutputRecord, error) {
	if string(rec.Value) == "bad" {
		return nil, eoshost.Rejected("bad \"value\"")
	}
	return []eoshost.OutputRecord{{Key: rec.Key, Value: rec.Value, Headers: rec.Headers}}, nil
}

func TestRunPrintsWhatEoshostTestPrints(t *testing.T) {
	input := `{"key":"k","value":"v é","headers":{"b":"1","a":"2"}}` + "\n\n" +
		`{"value":"bad"}` + "\r\n" +
		`{"offset":7,"value":"bad"}` + "\n" +
		`{"key_b64":"/w==","value_b64":"/wA="}`
	got, err := Run([]byte(input), echo)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"topic":null,"key":"k","value":"v é","headers":{"b":"1","a":"2"}}` + "\n" +
		`{"offset":2,"error":"bad \"value\""}` + "\n" +
		`{"offset":7,"error":"bad \"value\""}` + "\n" +
		`{"topic":null,"key_b64":"/w==","key":null,"value_b64":"/wA=","value":null,"headers":{}}` + "\n"
	if err := Compare(want, got); err != nil {
		t.Fatal(err)
	}
}

func TestRepeatedHeaderKeepsItsFirstPositionAndItsLastValue(t *testing.T) {
	got := string(appendOutput(nil, &eoshost.OutputRecord{Topic: "t", Value: []byte{}, Headers: []eoshost.Header{
		{Key: "h", Value: []byte("1")}, {Key: "i", Value: []byte("2")}, {Key: "h", Value: []byte("3")}}}))
	if want := `{"topic":"t","key":null,"value":"","headers":{"h":"3","i":"2"}}` + "\n"; got != want {
		t.Fatalf("want %s got %s", want, got)
	}
}

func TestRunRefusesALineWithoutValueNamingIt(t *testing.T) {
	_, err := Run([]byte("{\"value\":\"x\"}\n{\"key\":\"k\"}\n"), echo)
	if err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadTableKeepsTheLastLineOfAKey(t *testing.T) {
	if err := LoadTable("t", []byte(`{"key":"a","value":"1"}`+"\n"+`{"key":"a","value":"2"}`)); err != nil {
		t.Fatal(err)
	}
	if v, ok := eoshost.TableGet("t", []byte("a")); !ok || string(v) != "2" {
		t.Fatalf("got %q, %v", v, ok)
	}
	if err := LoadTable("t", []byte(`{"value":"1"}`)); err == nil {
		t.Fatal("a row without a key was taken")
	}
}

func TestCompareNamesTheFirstDifferingLine(t *testing.T) {
	if err := Compare("a\nb\n", "a\nc\n"); err == nil || !strings.HasPrefix(err.Error(), "line 2 differs") {
		t.Fatalf("got %v", err)
	}
	if err := Compare("a\n", "a\nb\n"); err == nil {
		t.Fatal("an extra line passed")
	}
}
