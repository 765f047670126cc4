#!/usr/bin/env bash
# Build the Python test plugin `chaos-py` into a component:
#     plugins/chaos-py/build.sh target/plugins/chaos-py.wasm
# The shared parts (componentize-py, the Python SDK) are in ../toolchain.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"

build_python_plugin batch-transformer
