#!/usr/bin/env bash
# Build the Go `enrich` plugin into a component:
#     plugins/enrich-go/build.sh target/plugins/enrich-go.wasm
#
# Toolchain: Go >= 1.24 (GOOS=wasip1 -buildmode=c-shared, //go:wasmexport),
# wasm-tools (PyPI wheel) and the WASI preview-1 reactor adapter (bytes from
# the crates.io crate wasi-preview1-component-adapter-provider, unpacked with
# `cargo vendor`). The last two are cached under
# ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}; later runs take a few seconds.
# The shared parts are in ../toolchain.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"

ADAPTER_ARENA=262144         # = adapterArenaSize in eoshost_wasm.go

ensure_go() {
    command -v go >/dev/null || { say "needs Go >= 1.24 on PATH"; exit 1; }
    local v
    v=$(go env GOVERSION)  # go1.26.8
    v=${v#go}
    local major=${v%%.*} rest=${v#*.}
    local minor=${rest%%.*}
    if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 24 ]; }; then
        say "needs Go >= 1.24 (//go:wasmexport), found $(go env GOVERSION)"
        exit 1
    fi
}

ensure_go
ensure_wasm_tools
ensure_adapter

(cd "$here" && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-s \
    -o "$work/core.wasm" .)
# Give the adapter memory that is not Go's (see patch_core.py).
python3 "$here/patch_core.py" "$work/core.wasm" "$work/patched.wasm" "$ADAPTER_ARENA" 2>/dev/null
"$wasm_tools" component embed "$root/wit" -w transformer "$work/patched.wasm" -o "$work/embedded.wasm"
"$wasm_tools" component new "$work/embedded.wasm" \
    --adapt "wasi_snapshot_preview1=$adapter" -o "$work/enrich.wasm"
"$wasm_tools" validate "$work/enrich.wasm"
deliver
