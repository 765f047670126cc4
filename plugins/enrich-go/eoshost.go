// eoshost.go: the record types of the eoshost `transformer` world, in plain
// Go (no wasm needed, so `go test` runs the plugin natively). Copy this file
// and eoshost_wasm.go, patch_core.py and build.sh into a new Go plugin, then
// write `configure` and `transform` (see plugin.go).
package main

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
// its --on-error policy and does not retry. transform's other errors are
// reported as rejections too; to have a record retried on a fresh instance,
// panic instead (a trap).
type Rejected string

func (r Rejected) Error() string { return string(r) }
