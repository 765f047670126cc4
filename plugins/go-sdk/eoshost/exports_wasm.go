//go:build wasip1

// The canonical ABI glue of the world's exports (wit/transform.wit), written
// by hand: wit-bindgen's Go generator needs the module
// go.bytecodealliance.org/pkg, which the Go module proxy does not serve. It
// is small because the world is: two exports, a realloc and two post-return
// hooks (the imports are in tables_wasm.go). Offsets below are the wasm32
// layouts of the world's types. It calls the registered Plugin.
//
// Memory: the host writes arguments (and the results of imports) into
// buffers it gets from cabi_realloc; results point into Go memory. All of it
// stays reachable (in `live`) until the host calls the post-return hook,
// then goes to the GC. Go's heap does not move objects, so the addresses
// stay valid meanwhile.
//
// Garbage collection: the host calls cabi_realloc while it lowers arguments,
// when the component may not call any import ("cannot leave component
// instance"). A Go allocation there that starts a GC cycle would read the
// clock (an import) and trap. So the automatic GC is off, and the exports
// run it themselves, on entry, once enough garbage may have piled up.
package eoshost

import (
	"runtime"
	"runtime/debug"
	"unsafe"
)

// gcEvery is how much allocation (estimated) may happen between two GC runs.
const gcEvery = 16 << 20

var (
	sinceGC     uintptr
	live        [][]byte  // buffers the host may still read or write
	liveStrings []string  // strings the host may still read
	retArea     [2]uint64 // the result area of init and transform (16 bytes, 8-aligned)
)

func init() {
	debug.SetGCPercent(-1)
}

func maybeGC() {
	if sinceGC >= gcEvery {
		sinceGC = 0
		runtime.GC()
	}
}

// adapterArena is where the WASI preview-1 adapter gets its memory (its
// stack and state), through a `cabi_realloc_adapter` export that
// ../component.sh adds to the core module (see ../patch_core.py). The
// adapter first needs memory while Go's runtime is still initialising, when
// no Go export may run, and it cannot grow the memory itself: Go assumes it
// owns every page past its data. A global array is data, so the Go heap
// never hands it out. The marker lets patch_core.py find its address.
var adapterArena = [adapterArenaSize]byte{'e', 'o', 's', 'h', 'o', 's', 't', '-', 'a', 'd', 'a', 'p', 't', 'e', 'r', '-', 'a', 'r', 'e', 'n', 'a', '-', 'v', '1'}

const adapterArenaSize = 256 << 10 // = ADAPTER_ARENA in ../component.sh

// emptyList is the address given for an empty list: never read, but it must
// be aligned for the list's element type.
const emptyList = 8

func keep(b []byte) uint32 {
	if len(b) == 0 {
		return emptyList
	}
	live = append(live, b)
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func keepString(s string) uint32 {
	if len(s) == 0 {
		return emptyList
	}
	liveStrings = append(liveStrings, s)
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

func mem(ptr, n uint32) []byte {
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

func str(ptr, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

func put32(b []byte, off int, v uint32) {
	b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func get32(b []byte, off int) uint32 {
	return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
}

func ret() []byte {
	r := unsafe.Slice((*byte)(unsafe.Pointer(&retArea[0])), 16)
	clear(r)
	return r
}

func retAddr() uint32 { return uint32(uintptr(unsafe.Pointer(&retArea[0]))) }

func release(uint32) {
	live = nil
	liveStrings = nil
}

//go:wasmexport cabi_realloc
func cabiRealloc(oldPtr, oldSize, align, newSize uint32) uint32 {
	if newSize == 0 {
		if align == 0 { // never asked by the host: keeps adapterArena linked in
			return uint32(uintptr(unsafe.Pointer(&adapterArena[0])))
		}
		return align
	}
	sinceGC += uintptr(newSize)
	buf := make([]byte, newSize+align)
	base := uint32(uintptr(unsafe.Pointer(&buf[0])))
	off := (align - base%align) % align
	live = append(live, buf)
	if oldPtr != 0 {
		copy(buf[off:], mem(oldPtr, min(oldSize, newSize)))
	}
	return base + off
}

// init: func(config: list<tuple<string, string>>) -> result<_, string>
//
//go:wasmexport init
func exportInit(configPtr, configLen uint32) uint32 {
	maybeGC()
	entries := mem(configPtr, configLen*16) // key ptr, key len, value ptr, value len
	config := make([][2]string, configLen)
	for i := range config {
		e := entries[i*16:]
		// Copies: the plugin may keep its configuration.
		config[i] = [2]string{string(mem(get32(e, 0), get32(e, 4))), string(mem(get32(e, 8), get32(e, 12)))}
	}
	r := ret()
	if err := plugin.Configure(config); err != nil {
		msg := err.Error()
		r[0] = 1 // err(string)
		put32(r, 4, keepString(msg))
		put32(r, 8, uint32(len(msg)))
	}
	return retAddr()
}

//go:wasmexport cabi_post_init
func postInit(p uint32) { release(p) }

// transform: func(input: input-record) -> result<list<output-record>, error>
//
// input-record arrives flattened: topic (ptr, len), partition, offset,
// timestamp (is-some, value), key (is-some, ptr, len), value (is-some, ptr,
// len), headers (ptr, len).
//
//go:wasmexport transform
func exportTransform(topicPtr, topicLen uint32, partition int32, offset int64,
	hasTimestamp int32, timestamp int64,
	hasKey int32, keyPtr, keyLen uint32,
	hasValue int32, valuePtr, valueLen uint32,
	headersPtr, headersLen uint32) uint32 {
	maybeGC()
	// What a transform allocates is about proportional to its input.
	sinceGC += 4*uintptr(keyLen+valueLen) + 64*uintptr(headersLen) + 4096

	rec := InputRecord{
		Topic:        str(topicPtr, topicLen),
		Partition:    partition,
		Offset:       offset,
		Timestamp:    timestamp,
		HasTimestamp: hasTimestamp != 0,
	}
	if hasKey != 0 {
		rec.Key = mem(keyPtr, keyLen)
	}
	if hasValue != 0 {
		rec.Value = mem(valuePtr, valueLen)
	}
	if headersLen > 0 {
		in := mem(headersPtr, headersLen*16) // key ptr, key len, value ptr, value len
		rec.Headers = make([]Header, headersLen)
		for i := range rec.Headers {
			h := in[i*16:]
			rec.Headers[i] = Header{Key: str(get32(h, 0), get32(h, 4)), Value: mem(get32(h, 8), get32(h, 12))}
		}
	}

	outs, err := plugin.Transform(&rec)
	r := ret()
	if err != nil {
		msg := err.Error()
		r[0] = 1 // err(error)
		r[4] = 0 // error::rejected(string)
		put32(r, 8, keepString(msg))
		put32(r, 12, uint32(len(msg)))
		return retAddr()
	}

	// output-record (44 bytes): topic option<string> @0, key option<list<u8>>
	// @12, value option<list<u8>> @24, headers list<header> @36.
	list := make([]byte, 44*len(outs))
	for i, o := range outs {
		b := list[i*44:]
		if o.Topic != "" {
			b[0] = 1
			put32(b, 4, keepString(o.Topic))
			put32(b, 8, uint32(len(o.Topic)))
		}
		if o.Key != nil {
			b[12] = 1
			put32(b, 16, keep(o.Key))
			put32(b, 20, uint32(len(o.Key)))
		}
		if o.Value != nil {
			b[24] = 1
			put32(b, 28, keep(o.Value))
			put32(b, 32, uint32(len(o.Value)))
		}
		hs := make([]byte, 16*len(o.Headers)) // header: key ptr, key len, value ptr, value len
		for j, h := range o.Headers {
			put32(hs, j*16, keepString(h.Key))
			put32(hs, j*16+4, uint32(len(h.Key)))
			put32(hs, j*16+8, keep(h.Value))
			put32(hs, j*16+12, uint32(len(h.Value)))
		}
		put32(b, 36, keep(hs))
		put32(b, 40, uint32(len(o.Headers)))
	}
	r[0] = 0 // ok
	put32(r, 4, keep(list))
	put32(r, 8, uint32(len(outs)))
	return retAddr()
}

//go:wasmexport cabi_post_transform
func postTransform(p uint32) { release(p) }
