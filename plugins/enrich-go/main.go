// enrich: an eoshost transform in Go (Go >= 1.24, GOOS=wasip1, -buildmode=c-shared).
//
// Parses an order (a JSON object), adds `region` and `total_cents`, and
// writes compact JSON with a fixed key order. The rules are pinned in
// plugins/README.md and checked by tests/conformance/enrich/.
//
// enrich.go holds the rules, abi.go the component glue; build.sh turns the
// core module into a component.
package main

// A c-shared (reactor) module runs no main; the package still needs one.
func main() {}
