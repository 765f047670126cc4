//go:build !wasip1

// The native stand-in for the `tables` import, for `go test`: tables are
// maps of this process, filled by the test. Not safe for parallel tests.
package eoshost

var testTables = map[string]map[string][]byte{}

// SetTestTable makes rows (key → value, both as byte strings) the whole
// table named table for TableGet outside WebAssembly, replacing an earlier
// one; an empty map gives a table that finds nothing. Native tests only.
func SetTestTable(table string, rows map[string]string) {
	t := make(map[string][]byte, len(rows))
	for k, v := range rows {
		t[k] = []byte(v)
	}
	testTables[table] = t
}

// ClearTestTables removes every table SetTestTable gave. Native tests only.
func ClearTestTables() { clear(testTables) }

func tableGet(table string, key []byte) ([]byte, bool) {
	rows, ok := testTables[table]
	if !ok {
		panic(`no table "` + table + `": give it with --table ` + table + `=TOPIC (in native tests: eoshost.SetTestTable)`)
	}
	value, ok := rows[string(key)]
	if !ok {
		return nil, false
	}
	return append([]byte{}, value...), true // found but empty is not absent
}
