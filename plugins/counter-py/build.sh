#!/usr/bin/env bash
# Build the Python `counter` plugin (stateful) into a component:
#     plugins/counter-py/build.sh target/plugins/counter-py.wasm
# Installs componentize-py (PyPI) into ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}
# on first use; later runs reuse it. The shared parts are in ../toolchain.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"

build_python_plugin stateful-transformer
