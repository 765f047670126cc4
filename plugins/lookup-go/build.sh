#!/usr/bin/env bash
# Build the Go `lookup` plugin into a component of the world
# `table-transformer`:
#     plugins/lookup-go/build.sh target/plugins/lookup-go.wasm
#
# Toolchain: as plugins/enrich-go (Go >= 1.24, wasm-tools from PyPI, the WASI
# preview-1 reactor adapter from crates.io), in ../toolchain.sh and
# ../go-sdk/component.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"
# shellcheck source-path=SCRIPTDIR source=../go-sdk/component.sh
. "$(dirname "$0")/../go-sdk/component.sh"

build_go_component table-transformer
deliver
