package eoshost

// TableGet returns the latest value under key in the table named table (the
// NAME of `--table NAME=TOPIC`; `eoshost test` takes `--table NAME=FILE.jsonl`)
// and true, or nil and false when the key is absent or was deleted. Keys and
// values are the table topic's bytes, unchanged; the value is the caller's
// to keep.
//
// Every instance sees the whole table, whatever partition the record came
// from, at least as new as when eoshost started (see the `tables` interface
// in wit/transform.wit). Read-only.
//
// Call it from Transform. In Configure it traps (tables are loaded after
// the plugins), and so does asking for a table the operator did not give:
// the record is then retried and handled by --on-error, so the fix is on
// the command line. The component must be built against the world
// `table-transformer` (or `stateful-table-transformer`): a Go plugin's
// build.sh passes it to ../component.sh.
//
// Outside WebAssembly (native tests) the tables are the ones given to
// SetTestTable, and a table never given panics as the host's call traps.
func TableGet(table string, key []byte) ([]byte, bool) { return tableGet(table, key) }
