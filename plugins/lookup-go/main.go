// lookup: an eoshost transform in Go that joins each record with a table
// (Go >= 1.24, GOOS=wasip1, -buildmode=c-shared, world table-transformer).
//
// Adds to a JSON object the table value found under one of its string
// fields. The rules are pinned in plugins/README.md ("Tables"); the output
// is byte-identical to that of plugins/lookup (Rust) and plugins/lookup-py.
//
// Files: lookup.go (the configuration and the rules, plain Go: `go test` runs
// them natively with eoshost's stand-in tables), build.sh (core module to
// component, with ../go-sdk/component.sh). The binding (eoshost.TableGet)
// and the strict JSON reader and writer are the packages of ../go-sdk.
package main

import "eoshost.local/go-sdk/eoshost"

func init() {
	eoshost.Register(eoshost.Plugin{Configure: configure, Transform: transform})
}

// A c-shared (reactor) module runs no main; the package still needs one.
func main() {}
