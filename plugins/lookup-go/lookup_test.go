//go:build !wasip1

package main

// The lookup rules, natively, over eoshost's stand-in tables, and the
// shared conformance suite byte for byte:
//     cd plugins/lookup-go && go test
// (the component itself is checked with `eoshost test --table`, see
// plugins/README.md).

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"eoshost.local/go-sdk/eoshost"
	"eoshost.local/go-sdk/offline"
)

const suite = "../../tests/conformance/lookup/"

// The suite's configuration, as tests/conformance/lookup/make_input.py
// gives it.
func TestConformance(t *testing.T) {
	var files [3][]byte
	for i, name := range []string{"input.jsonl", "expected.jsonl", "customers.jsonl"} {
		var err error
		if files[i], err = os.ReadFile(suite + name); err != nil {
			t.Fatal(err)
		}
	}
	if err := configure(customers); err != nil {
		t.Fatal(err)
	}
	eoshost.ClearTestTables()
	if err := offline.LoadTable("customers", files[2]); err != nil {
		t.Fatalf("customers.jsonl: %v", err)
	}
	got, err := offline.Run(files[0], transform)
	if err != nil {
		t.Fatalf("input.jsonl: %v", err)
	}
	if err := offline.Compare(string(files[1]), got); err != nil {
		t.Fatalf("expected.jsonl: %v", err)
	}
}

var customers = [][2]string{{"table", "customers"}, {"key_field", "customer_id"}, {"as", "customer"}}

// join configures the plugin with customers, sets the table customers to
// rows and applies the rules to value: the output, or the rejection reason.
func join(t *testing.T, rows map[string]string, value string) (out, reason string) {
	t.Helper()
	if err := configure(customers); err != nil {
		t.Fatal(err)
	}
	eoshost.ClearTestTables()
	if rows != nil {
		eoshost.SetTestTable("customers", rows)
	}
	o, r := plugin.apply([]byte(value))
	return string(o), r
}

func expectOutput(t *testing.T, rows map[string]string, value, want string) {
	t.Helper()
	out, reason := join(t, rows, value)
	if reason != "" {
		t.Fatalf("rejected %q: %s", value, reason)
	}
	if out != want {
		t.Fatalf("for %q\nwant %s\ngot  %s", value, want, out)
	}
}

func expectRejected(t *testing.T, rows map[string]string, value, want string) {
	t.Helper()
	out, reason := join(t, rows, value)
	if reason != want {
		t.Fatalf("for %q want rejection %q, got %q (output %s)", value, want, reason, out)
	}
}

var ada = map[string]string{"c1": ` { "name" : "Ada", "tier": 2 } `}

func TestConfigRefusesAnUnknownKeyNamingIt(t *testing.T) {
	err := configure(append(customers, [2]string{"colour", "red"}))
	if err == nil || err.Error() != `unknown config key "colour"` {
		t.Fatalf("got %v", err)
	}
}

func TestConfigRequiresTableKeyFieldAndAs(t *testing.T) {
	for _, missing := range []string{"table", "key_field", "as"} {
		var config [][2]string
		for _, kv := range customers {
			if kv[0] != missing {
				config = append(config, kv)
			}
		}
		err := configure(config)
		if err == nil || !strings.HasPrefix(err.Error(), `config key "`+missing+`" is required: `) {
			t.Fatalf("without %s: got %v", missing, err)
		}
	}
}

func TestFoundValueIsAppendedParsedAndCompacted(t *testing.T) {
	expectOutput(t, ada, `{"order_id": "o1", "customer_id": "c1", "n": 3}`,
		`{"order_id":"o1","customer_id":"c1","n":3,"customer":{"name":"Ada","tier":2}}`)
}

func TestAbsentKeyGivesNull(t *testing.T) {
	expectOutput(t, ada, `{"customer_id":"c9"}`, `{"customer_id":"c9","customer":null}`)
}

// The table is not given: a lookup would panic, as the host's call traps.
func TestMissingOrNonStringKeyFieldGivesNullWithoutALookup(t *testing.T) {
	for value, want := range map[string]string{
		`{}`:                      `{"customer":null}`,
		`{"id":"c1"}`:             `{"id":"c1","customer":null}`,
		`{"customer_id":1}`:       `{"customer_id":1,"customer":null}`,
		`{"customer_id":null}`:    `{"customer_id":null,"customer":null}`,
		`{"customer_id":["c1"]}`:  `{"customer_id":["c1"],"customer":null}`,
		`{"customer_id":{"a":1}}`: `{"customer_id":{"a":1},"customer":null}`,
	} {
		expectOutput(t, nil, value, want)
	}
}

func TestKeyIsTheDecodedUTF8OfTheField(t *testing.T) {
	rows := map[string]string{"c1": `1`, "é\"\n": `2`, "": `3`}
	expectOutput(t, rows, `{"customer_id":"c\u0031"}`, `{"customer_id":"c1","customer":1}`)
	expectOutput(t, rows, `{"customer_id":"\u00e9\"\n"}`, `{"customer_id":"é\"\n","customer":2}`)
	expectOutput(t, rows, `{"customer_id":""}`, `{"customer_id":"","customer":3}`)
}

func TestExistingAsFieldIsReplacedInPlace(t *testing.T) {
	expectOutput(t, ada, `{"customer":"old","customer_id":"c1","x":1}`,
		`{"customer":{"name":"Ada","tier":2},"customer_id":"c1","x":1}`)
	expectOutput(t, ada, `{"customer":"old","customer_id":"c2"}`, `{"customer":null,"customer_id":"c2"}`)
}

func TestRepeatedFieldKeepsItsFirstPositionAndItsLastValue(t *testing.T) {
	expectOutput(t, ada, `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2,"customer":null}`)
	// The last customer_id is the key, and a non-string last one is none.
	expectOutput(t, ada, `{"customer_id":"c9","x":0,"customer_id":"c1"}`,
		`{"customer_id":"c1","x":0,"customer":{"name":"Ada","tier":2}}`)
	expectOutput(t, ada, `{"customer_id":"c1","customer_id":7}`, `{"customer_id":7,"customer":null}`)
	expectOutput(t, ada, `{"customer":1,"customer":2,"customer_id":"c1"}`,
		`{"customer":{"name":"Ada","tier":2},"customer_id":"c1"}`)
}

func TestNestedValuesAreCompactedButNotDeduplicated(t *testing.T) {
	rows := map[string]string{"c1": "[ {\"a\" :1 , \"a\": 2}, [ ], { } ,\ttrue,false , null ]\r\n"}
	expectOutput(t, rows, "{ \"customer_id\" : \"c1\" , \"o\" : { \"k\" : [ 1 , { \"k\" : 2 , \"k\" : 3 } ] } }",
		`{"customer_id":"c1","o":{"k":[1,{"k":2,"k":3}]},"customer":[{"a":1,"a":2},[],{},true,false,null]}`)
}

func TestNumbersAreCopiedAsWritten(t *testing.T) {
	rows := map[string]string{"c1": `1.50E+02`}
	expectOutput(t, rows, `{"customer_id":"c1","a":-0,"b":1.0,"c":1e400,"d":12345678901234567890123}`,
		`{"customer_id":"c1","a":-0,"b":1.0,"c":1e400,"d":12345678901234567890123,"customer":1.50E+02}`)
}

func TestStringsAreReescapedOnlyWhereJSONRequires(t *testing.T) {
	rows := map[string]string{"c1": `"<b>&\u2028\/\u00E9\ud83d\ude00\u001F"`}
	expectOutput(t, rows, `{"customer_id":"c1","s":"\"\\\b\f\n\r\t\u0000\u007f<>&`+"\u2028\u2029"+`","k\u0041":1}`,
		`{"customer_id":"c1","s":"\"\\\b\f\n\r\t\u0000`+"\x7f<>&\u2028\u2029"+`","kA":1,"customer":"<b>&`+"\u2028/é😀"+`\u001f"}`)
}

func TestLoneSurrogateEscapeIsRejected(t *testing.T) {
	for _, value := range []string{`{"s":"\ud800"}`, `{"s":"\udc00\ud800"}`, `{"s":"\ud800\u0041"}`, `{"\udfff":1}`} {
		expectRejected(t, ada, value, "value is not valid JSON")
	}
	expectRejected(t, map[string]string{"c1": `"\ud83d"`}, `{"customer_id":"c1"}`,
		`the value of key "c1" in table "customers" is not valid JSON`)
}

func TestInvalidJSONOrUTF8IsRejected(t *testing.T) {
	for _, value := range []string{"{\"s\":\"\xff\"}", "{\"s\":\"\xed\xa0\x80\"}", `{`, `{"a":1,}`, `{"a":01}`,
		`{"a":1} x`, `{"a":NaN}`, `{"a":"tab	"}`, `{'a':1}`, `{"a" 1}`, ``, `   `} {
		expectRejected(t, ada, value, "value is not valid JSON")
	}
}

func TestValueThatIsNotAnObjectIsRejected(t *testing.T) {
	for _, value := range []string{`[]`, `"customer_id"`, `1`, ` null `, `[{"customer_id":"c1"}]`} {
		expectRejected(t, ada, value, "value is not a JSON object")
	}
}

func TestTableValueThatIsNotJSONIsRejectedNamingTableAndKey(t *testing.T) {
	for _, bad := range []string{``, `{`, `Ada`, "\"\xff\"", `1 2`} {
		expectRejected(t, map[string]string{"c\"1": bad}, `{"customer_id":"c\"1"}`,
			`the value of key "c\"1" in table "customers" is not valid JSON`)
	}
}

func TestDeepNestingIsCopiedWithoutRecursion(t *testing.T) {
	const depth = 200000
	nested := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	value := `{"customer_id":"c1","deep":` + nested + `}`
	expectOutput(t, map[string]string{"c1": " " + nested}, value, `{"customer_id":"c1","deep":`+nested+`,"customer":`+nested+`}`)
}

func TestKeyAndHeadersPassThroughToTheDefaultOutput(t *testing.T) {
	if err := configure(customers); err != nil {
		t.Fatal(err)
	}
	eoshost.ClearTestTables()
	eoshost.SetTestTable("customers", ada)
	headers := []eoshost.Header{{Key: "h", Value: []byte("1")}, {Key: "h", Value: []byte("2")}}
	outs, err := transform(&eoshost.InputRecord{Key: []byte("k"), Value: []byte(`{"customer_id":"c1"}`), Headers: headers})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Topic != "" || string(outs[0].Key) != "k" || len(outs[0].Headers) != 2 ||
		outs[0].Headers[1].Key != "h" || !bytes.Equal(outs[0].Headers[1].Value, []byte("2")) {
		t.Fatalf("got %+v", outs)
	}
	outs, err = transform(&eoshost.InputRecord{Value: []byte(`{}`)})
	if err != nil || outs[0].Key != nil {
		t.Fatalf("a record without a key: got %+v, %v", outs, err)
	}
}

func TestTombstoneIsRejected(t *testing.T) {
	if err := configure(customers); err != nil {
		t.Fatal(err)
	}
	_, err := transform(&eoshost.InputRecord{Key: []byte("k")})
	if _, rejected := err.(eoshost.Rejected); !rejected || err.Error() != "value is missing" {
		t.Fatalf("got %v", err)
	}
}
