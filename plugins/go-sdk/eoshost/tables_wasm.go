//go:build wasip1

// The `tables` import, lowered by hand as exports_wasm.go lifts the exports.
package eoshost

import (
	"runtime"
	"unsafe"
)

// get: func(table: string, key: list<u8>) -> option<list<u8>>
//
// Flat: (table ptr, len, key ptr, len) and, the result being wider than one
// value, a pointer to where the host writes it: option<list<u8>> is a tag
// byte @0, the list's pointer @4 and length @8. The host gets the list's
// buffer from cabi_realloc, so it is Go memory (kept in `live` until
// post-return, the caller's afterwards).
//
//go:wasmimport eoshost:transform/tables@0.1.0 get
func tablesGet(tablePtr, tableLen, keyPtr, keyLen, retPtr uint32)

var tablesRet [3]uint32 // 12 bytes, 4-aligned; not on the stack, which may move

func tableGet(table string, key []byte) ([]byte, bool) {
	// A transform that looks up large values allocates in proportion to
	// them, more than exportTransform's estimate from the input. Collecting
	// here is safe: the call is the plugin's, not the host's lowering, and
	// whatever the host may still read is in `live`.
	maybeGC()
	tablesRet = [3]uint32{}
	tablePtr, keyPtr := uint32(emptyList), uint32(emptyList)
	if len(table) > 0 {
		tablePtr = uint32(uintptr(unsafe.Pointer(unsafe.StringData(table))))
	}
	if len(key) > 0 {
		keyPtr = uint32(uintptr(unsafe.Pointer(&key[0])))
	}
	tablesGet(tablePtr, uint32(len(table)), keyPtr, uint32(len(key)),
		uint32(uintptr(unsafe.Pointer(&tablesRet[0]))))
	runtime.KeepAlive(table)
	runtime.KeepAlive(key)
	if uint8(tablesRet[0]) == 0 { // the tag byte @0 (little-endian)
		return nil, false
	}
	// cabi_realloc counted the value once; what the plugin makes of it
	// (a parsed or rewritten copy) is about as much again, twice.
	sinceGC += 2 * uintptr(tablesRet[2])
	return mem(tablesRet[1], tablesRet[2]), true
}
