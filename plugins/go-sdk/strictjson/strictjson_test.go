package strictjson

import "testing"

func compact(doc string) (string, bool) {
	out, ok := AppendCompact([]byte("prefix:"), []byte(doc))
	return string(out), ok
}

func TestAppendCompactDropsWhitespaceAndKeepsTokensAndRepeatedKeys(t *testing.T) {
	got, ok := compact(" {\"a\" : [ 1.50 , -0 , 1E+2 ] ,\n\"a\":{ },\t\"b\" : [ true , false , null ] }\r\n")
	if want := `prefix:{"a":[1.50,-0,1E+2],"a":{},"b":[true,false,null]}`; !ok || got != want {
		t.Fatalf("want %s, got %s (%v)", want, got, ok)
	}
}

func TestAppendCompactReescapesStringsAndKeys(t *testing.T) {
	got, ok := compact(`{"\u0041\/":"\u003c\u2028\ud83d\ude00\u0007\"\\"}`)
	if want := "prefix:{\"A/\":\"<\u2028😀\\u0007\\\"\\\\\"}"; !ok || got != want {
		t.Fatalf("want %s, got %s (%v)", want, got, ok)
	}
}

func TestAppendCompactRefusesWhatRFC8259ForbidsAndLeavesOutUnchanged(t *testing.T) {
	for _, doc := range []string{``, ` `, `01`, `1.`, `.5`, `+1`, `1e`, `NaN`, `Infinity`, `tru`, `nul`,
		`[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`, `[1 2]`, `[1}`, `{"a":1]`, `1 2`, `"a`, `"\x"`, `"\u12"`,
		"\"\x01\"", `"\ud800"`, `"\udc00"`, `"\ud800\ud800"`, "\"\xc3\"", "\"\xed\xb0\x80\""} {
		if got, ok := compact(doc); ok || got != "prefix:" {
			t.Fatalf("%q: got %q, %v", doc, got, ok)
		}
	}
}

func TestAppendStringEscapesOnlyQuoteBackslashAndControlCharacters(t *testing.T) {
	got := string(AppendString(nil, []byte("\"\\/\b\f\n\r\t\x00\x1f\x7f<>&\u2028é")))
	if want := `"\"\\/\b\f\n\r\t\u0000\u001f` + "\x7f<>&\u2028é\""; got != want {
		t.Fatalf("want %s, got %s", want, got)
	}
}
