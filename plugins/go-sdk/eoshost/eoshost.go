// Package eoshost is the Go binding of the eoshost plugin contract
// (wit/transform.wit): the world's types in plain Go, the canonical ABI glue
// of its exports (exports_wasm.go) and the `tables` import (tables.go). Every
// Go plugin imports it through a `replace eoshost.local/go-sdk => ../go-sdk`
// line in its go.mod and registers its two functions:
//
//	func init() { eoshost.Register(eoshost.Plugin{Configure: configure, Transform: transform}) }
//
// Outside WebAssembly (GOOS other than wasip1) only the types, Register and
// a stand-in for the imports are built, so `go test` runs a plugin natively.
package eoshost

// Header is a Kafka record header. Kafka allows the same key twice.
type Header struct {
	Key   string
	Value []byte
}

// InputRecord is one record read from Kafka. Its byte slices and strings
// point into memory the host wrote: valid during the transform call only, so
// copy what you keep (returning them in an OutputRecord is fine).
type InputRecord struct {
	Topic        string
	Partition    int32
	Offset       int64
	Timestamp    int64 // milliseconds since the Unix epoch, if HasTimestamp
	HasTimestamp bool
	Key          []byte // nil: no key
	Value        []byte // nil: a tombstone
	Headers      []Header
}

// OutputRecord is one record for eoshost to produce.
type OutputRecord struct {
	Topic   string // "": the default output (the first --output topic)
	Key     []byte // nil: no key
	Value   []byte // nil: a tombstone
	Headers []Header
}

// Rejected is the error for a record that is bad in itself: eoshost applies
// its --on-error policy and does not retry. Transform's other errors are
// reported as rejections too; to have a record retried on a fresh instance,
// panic instead (a trap).
type Rejected string

func (r Rejected) Error() string { return string(r) }

// Plugin is what a Go plugin gives eoshost: the world's two exports.
type Plugin struct {
	// Configure gets the --plugin-config KEY=VALUE pairs, in the order
	// given, once per fresh instance, before its first Transform. An error
	// (name the key in it) stops eoshost with exit code 2 and its text.
	Configure func(config [][2]string) error
	// Transform is called once per record: return the records to produce
	// (none filters, several fan out), or an error to reject the record.
	Transform func(rec *InputRecord) ([]OutputRecord, error)
}

var plugin Plugin

// Register makes p the plugin the exports call. Call it from a package
// init function: the host may call `init` as soon as the Go runtime has
// started, and an export called with nothing registered traps.
func Register(p Plugin) { plugin = p }
