// enrich: an eoshost transform in Go (Go >= 1.24, GOOS=wasip1, -buildmode=c-shared).
//
// Parses an order (a JSON object), adds `region` and `total_cents`, and
// writes compact JSON with a fixed key order. The rules are pinned in
// plugins/README.md and checked by tests/conformance/enrich/.
//
// Files: enrich.go (the rules, plain Go), plugin.go (configure and
// transform), build.sh (core module to component, with
// ../go-sdk/component.sh). The world's types, its canonical ABI glue and the
// strict JSON reader and writer are the packages of ../go-sdk, shared by
// every Go plugin. `go test` runs the conformance suite natively.
package main

import "eoshost.local/go-sdk/eoshost"

func init() {
	eoshost.Register(eoshost.Plugin{Configure: configure, Transform: transform})
}

// A c-shared (reactor) module runs no main; the package still needs one.
func main() {}
