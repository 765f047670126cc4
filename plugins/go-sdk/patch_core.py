#!/usr/bin/env python3
"""Add a `cabi_realloc_adapter` export to a Go (GOOS=wasip1, c-shared) core module.

    patch_core.py IN.wasm OUT.wasm ARENA_SIZE

Why: `wasm-tools component new --adapt wasi_snapshot_preview1=...` lets the
WASI preview-1 adapter allocate its stack and state with the main module's
`cabi_realloc_adapter` (or else its `cabi_realloc`). The adapter does so on
its first call, which Go's runtime makes while `_initialize` is still
running, when calling a Go export aborts ("wasmexport function called before
runtime initialization"). Growing the memory instead is no better: Go's
allocator assumes every page past its data is its own.

So the added function is plain wasm, not Go: a bump allocator over the Go
global `adapterArena` (see eoshost/exports_wasm.go), found by the marker it
starts with. It never frees (the adapter allocates once per instance) and
traps when the arena is full. Standard library only; the module is edited
in place by appending a global, a function and an export, so no index moves.
"""

import sys

MARKER = b"eoshost-adapter-arena-v1"
SKIP = 64  # leave the marker alone


def uleb(b, i):
    result = shift = 0
    while True:
        byte = b[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def sleb(b, i):
    result = shift = 0
    while True:
        byte = b[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, i


def enc_uleb(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def enc_sleb(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def name(b, i):
    n, i = uleb(b, i)
    return b[i : i + n], i + n


def limits(b, i):
    flags, i = uleb(b, i)
    _, i = uleb(b, i)
    if flags & 1:
        _, i = uleb(b, i)
    return i


def const_expr(b, i):
    """Returns the value of an `i32.const N end` expression (or None) and the end."""
    value = None
    if b[i] == 0x41:
        value, j = sleb(b, i + 1)
        if b[j] == 0x0B:
            return value, j + 1
    while b[i] != 0x0B:  # other constant expressions: skip (not expected in data offsets)
        i += 1
    return value, i + 1


def main():
    src, dst, arena_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wasm = open(src, "rb").read()
    assert wasm[:8] == b"\0asm\x01\0\0\0", "not a core wasm module"

    sections = []  # (id, payload)
    i = 8
    while i < len(wasm):
        sid = wasm[i]
        size, j = uleb(wasm, i + 1)
        sections.append([sid, wasm[j : j + size]])
        i = j + size

    def section(sid):
        found = [s for s in sections if s[0] == sid]
        assert len(found) == 1, f"expected one section {sid}"
        return found[0]

    # Imports: count functions and globals.
    imported_funcs = imported_globals = 0
    if any(s[0] == 2 for s in sections):
        b = section(2)[1]
        n, i = uleb(b, 0)
        for _ in range(n):
            _, i = name(b, i)
            _, i = name(b, i)
            kind = b[i]
            i += 1
            if kind == 0:
                _, i = uleb(b, i)
                imported_funcs += 1
            elif kind == 1:
                i = limits(b, i + 1)
            elif kind == 2:
                i = limits(b, i)
            elif kind == 3:
                i += 2
                imported_globals += 1
            elif kind == 4:
                _, i = uleb(b, i + 1)
            else:
                raise SystemExit(f"unknown import kind {kind}")

    funcs = section(3)
    nfuncs, i = uleb(funcs[1], 0)
    func_types = []
    for _ in range(nfuncs):
        t, i = uleb(funcs[1], i)
        func_types.append(t)

    exports = section(7)
    b = exports[1]
    nexports, i = uleb(b, 0)
    realloc_type = None
    for _ in range(nexports):
        ename, i = name(b, i)
        kind = b[i]
        idx, i = uleb(b, i + 1)
        assert ename != b"cabi_realloc_adapter", "already patched"
        if ename == b"cabi_realloc" and kind == 0:
            realloc_type = func_types[idx - imported_funcs]
    assert realloc_type is not None, "no cabi_realloc export"

    # Find the arena in the data segments.
    b = section(11)[1]
    nseg, i = uleb(b, 0)
    hits = []
    for _ in range(nseg):
        flags, i = uleb(b, i)
        offset = None
        if flags == 2:
            _, i = uleb(b, i)
        if flags in (0, 2):
            offset, i = const_expr(b, i)
        size, i = uleb(b, i)
        data = b[i : i + size]
        i += size
        at = data.find(MARKER)
        if at >= 0 and offset is not None:
            hits.append(offset + at)
    assert len(hits) == 1, f"expected one arena marker, found {len(hits)}"
    start = (hits[0] + SKIP + 15) & ~15
    limit = hits[0] + arena_size

    # Append: the global (the bump pointer), the function, the export.
    glob = section(6)
    n, rest = uleb(glob[1], 0)
    gidx = imported_globals + n
    glob[1] = enc_uleb(n + 1) + glob[1][rest:] + b"\x7f\x01\x41" + enc_sleb(start) + b"\x0b"

    fidx = imported_funcs + nfuncs
    funcs[1] = enc_uleb(nfuncs + 1) + funcs[1][uleb(funcs[1], 0)[1] :] + enc_uleb(realloc_type)

    g = enc_uleb(gidx)
    code = (
        b"\x20\x00\x04\x40\x00\x0b"  # if old_ptr != 0: unreachable (never reallocates)
        + b"\x23" + g + b"\x20\x02\x6a\x41\x01\x6b\x41\x00\x20\x02\x6b\x71"  # p = (next + align - 1) & -align
        + b"\x22\x04\x20\x03\x6a"  # p + new_size
        + b"\x41" + enc_sleb(limit) + b"\x4b\x04\x40\x00\x0b"  # > limit: unreachable (arena full)
        + b"\x20\x04\x20\x03\x6a\x24" + g  # next = p + new_size
        + b"\x20\x04\x0b"  # return p
    )
    body = b"\x01\x01\x7f" + code  # one local i32 (p)
    codesec = section(10)
    n, rest = uleb(codesec[1], 0)
    codesec[1] = enc_uleb(n + 1) + codesec[1][rest:] + enc_uleb(len(body)) + body

    exports[1] = (
        enc_uleb(nexports + 1) + exports[1][uleb(exports[1], 0)[1] :]
        + enc_uleb(len(b"cabi_realloc_adapter")) + b"cabi_realloc_adapter" + b"\x00" + enc_uleb(fidx)
    )

    out = bytearray(wasm[:8])
    for sid, payload in sections:
        out += bytes([sid]) + enc_uleb(len(payload)) + payload
    open(dst, "wb").write(out)
    print(f"patch_core: cabi_realloc_adapter over [{start:#x}, {limit:#x})", file=sys.stderr)


if __name__ == "__main__":
    main()
