// enrich: an eoshost transform in Go (Go >= 1.24, GOOS=wasip1, -buildmode=c-shared).
//
// Parses an order (a JSON object), adds `region` and `total_cents`, and
// writes compact JSON with a fixed key order. The rules are pinned in
// plugins/README.md and checked by tests/conformance/enrich/.
//
// Files: enrich.go (the rules, plain Go), plugin.go (configure and
// transform), eoshost.go and eoshost_wasm.go (the world's types and its
// canonical ABI glue, the same for every Go plugin), patch_core.py and
// build.sh (core module to component). `go test` runs the conformance suite
// natively.
package main

// A c-shared (reactor) module runs no main; the package still needs one.
func main() {}
