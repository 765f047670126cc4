//go:build wasip1

// The canonical ABI glue for the eoshost `transformer` world, written by hand
// (wit-bindgen's Go generator needs the module go.bytecodealliance.org/pkg,
// which the Go module proxy does not serve here). It is small because the
// world is small: two exports, a realloc and two post-return hooks. The
// layouts below are those of wit/transform.wit on wasm32.
//
// Memory: the host writes arguments into buffers it gets from cabi_realloc;
// results point into Go buffers. All of them are kept reachable in `live`
// until the host calls the post-return hook, then released to the GC. Go's
// heap does not move objects, so the addresses stay valid meanwhile.
//
// Garbage collection: the host calls cabi_realloc while it lowers arguments,
// when the component may not call any import ("cannot leave component
// instance"). A Go allocation there that starts a GC cycle would call the
// clock import and trap. So the automatic GC is off, and transform runs it
// itself, at its start, once enough garbage may have piled up.
package main

import (
	"runtime"
	"runtime/debug"
	"unsafe"
)

// gcEvery is how much allocation (estimated) may happen between two GC runs.
const gcEvery = 16 << 20

var sinceGC uintptr

func init() {
	debug.SetGCPercent(-1)
}

func maybeGC() {
	if sinceGC >= gcEvery {
		sinceGC = 0
		runtime.GC()
	}
}

var (
	live    [][]byte  // buffers the host may still read or write
	retArea [2]uint64 // the result area of init and transform (16 bytes, 8-aligned)
)

func keep(b []byte) uint32 {
	if len(b) == 0 {
		return 1 // any non-null address will do for an empty list
	}
	live = append(live, b)
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func mem(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

func put32(b []byte, off int, v uint32) {
	b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func get32(b []byte, off int) uint32 {
	return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
}

func ret() []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&retArea[0])), 16) }

func retAddr() uint32 { return uint32(uintptr(unsafe.Pointer(&retArea[0]))) }

// adapterArena is where the WASI preview-1 adapter gets its memory (its
// stack and state), through a `cabi_realloc_adapter` export that build.sh
// adds to the core module (see patch_core.py). The adapter first needs memory
// while Go's runtime is still initialising, when no Go export may run, and
// it cannot grow the memory itself: Go assumes it owns every page past its
// data. A global array is data, so the Go heap never hands it out. The
// marker lets build.sh find its address.
var adapterArena = [adapterArenaSize]byte{'e', 'o', 's', 'h', 'o', 's', 't', '-', 'a', 'd', 'a', 'p', 't', 'e', 'r', '-', 'a', 'r', 'e', 'n', 'a', '-', 'v', '1'}

const adapterArenaSize = 256 << 10

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
	r := ret()
	clear(r)
	if configLen > 0 {
		entry := mem(configPtr, 16) // tuple<string, string>: key ptr, key len, value ptr, value len
		key := string(mem(get32(entry, 0), get32(entry, 4)))
		msg := []byte(`unknown config key "` + key + `"`)
		r[0] = 1 // err
		put32(r, 4, keep(msg))
		put32(r, 8, uint32(len(msg)))
	}
	return retAddr()
}

//go:wasmexport cabi_post_init
func postInit(uint32) { live = nil }

// transform: func(record: input-record) -> result<list<output-record>, error>
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
	// What Enrich and this function allocate is about proportional to the value.
	sinceGC += 4*uintptr(valueLen) + 64*uintptr(headersLen) + 4096
	r := ret()
	clear(r)

	var reason, region string
	var out []byte
	if hasValue == 0 {
		reason = "value is missing"
	} else {
		out, region, reason = Enrich(mem(valuePtr, valueLen))
	}
	if reason != "" {
		msg := []byte(reason)
		r[0] = 1 // err
		r[4] = 0 // error::rejected
		put32(r, 8, keep(msg))
		put32(r, 12, uint32(len(msg)))
		return retAddr()
	}

	// Headers (key ptr, key len, value ptr, value len; 16 bytes each): all
	// but `region`, pointing into the input buffers, then ours.
	in := mem(headersPtr, headersLen*16)
	hs := make([]byte, 0, (headersLen+1)*16)
	for k := uint32(0); k < headersLen; k++ {
		h := in[k*16 : k*16+16]
		if string(mem(get32(h, 0), get32(h, 4))) != "region" {
			hs = append(hs, h...)
		}
	}
	var h [16]byte
	put32(h[:], 0, keep([]byte("region")))
	put32(h[:], 4, 6)
	put32(h[:], 8, keep([]byte(region)))
	put32(h[:], 12, uint32(len(region)))
	hs = append(hs, h[:]...)

	// output-record (44 bytes): topic option<string> @0, key option<list<u8>>
	// @12, value option<list<u8>> @24, headers list<header> @36.
	rec := make([]byte, 44)
	if hasKey != 0 { // the key passes through: point at the input's bytes
		rec[12] = 1
		put32(rec, 16, keyPtr)
		put32(rec, 20, keyLen)
	}
	rec[24] = 1
	put32(rec, 28, keep(out))
	put32(rec, 32, uint32(len(out)))
	put32(rec, 36, keep(hs))
	put32(rec, 40, uint32(len(hs)/16))

	r[0] = 0 // ok
	put32(r, 4, keep(rec))
	put32(r, 8, 1)
	return retAddr()
}

//go:wasmexport cabi_post_transform
func postTransform(uint32) { live = nil }
