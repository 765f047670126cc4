#!/usr/bin/env bash
# Build the Go `enrich` plugin into a component:
#     plugins/enrich-go/build.sh target/plugins/enrich-go.wasm
#
# Toolchain: Go >= 1.24 (GOOS=wasip1 -buildmode=c-shared, //go:wasmexport),
# wasm-tools (PyPI wheel) and the WASI preview-1 reactor adapter (bytes from
# the crates.io crate wasi-preview1-component-adapter-provider, unpacked with
# `cargo vendor`). The last two are cached under
# ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}; later runs take a few seconds.
# The shared parts are in ../toolchain.sh and ../go-sdk/component.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"
# shellcheck source-path=SCRIPTDIR source=../go-sdk/component.sh
. "$(dirname "$0")/../go-sdk/component.sh"

build_go_component transformer
deliver
