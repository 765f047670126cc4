# shellcheck shell=bash
# The Go part of a Go plugin's build, sourced (never run) by each
# plugins/<name>/build.sh right after ../toolchain.sh:
#     . "$(dirname "$0")/../go-sdk/component.sh"
#     build_go_component WORLD
# build_go_component checks the Go toolchain, compiles the plugin's package
# (its directory, $here) with GOOS=wasip1 -buildmode=c-shared, adds the
# adapter's allocator (patch_core.py), embeds the world WORLD of wit/ and
# makes the component $work/enrich.wasm, for `deliver`. WORLD is what the
# plugin imports: `transformer`, or `table-transformer` for eoshost.TableGet.

GO_MIN_MINOR=24              # Go >= 1.24: //go:wasmexport
ADAPTER_ARENA=262144         # = adapterArenaSize in eoshost/exports_wasm.go
go_sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ensure_go() {
    command -v go >/dev/null || { say "needs Go >= 1.$GO_MIN_MINOR on PATH"; exit 1; }
    local v
    v=$(go env GOVERSION)  # go1.26.8
    v=${v#go}
    local major=${v%%.*} rest=${v#*.}
    local minor=${rest%%.*}
    if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt "$GO_MIN_MINOR" ]; }; then
        say "needs Go >= 1.$GO_MIN_MINOR (//go:wasmexport), found $(go env GOVERSION)"
        exit 1
    fi
}

build_go_component() { # WORLD
    ensure_go
    ensure_wasm_tools
    ensure_adapter
    (cd "$here" && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-s \
        -o "$work/core.wasm" .)
    # Give the adapter memory that is not Go's (see patch_core.py).
    python3 "$go_sdk/patch_core.py" "$work/core.wasm" "$work/patched.wasm" "$ADAPTER_ARENA" 2>/dev/null
    "$wasm_tools" component embed "$root/wit" -w "$1" "$work/patched.wasm" -o "$work/embedded.wasm"
    "$wasm_tools" component new "$work/embedded.wasm" \
        --adapt "wasi_snapshot_preview1=$adapter" -o "$work/enrich.wasm"
    "$wasm_tools" validate "$work/enrich.wasm"
}
