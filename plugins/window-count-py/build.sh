#!/usr/bin/env bash
# Build the Python `window-count` plugin (timers) into a component:
#     plugins/window-count-py/build.sh target/plugins/window-count-py.wasm
# Installs componentize-py (PyPI) into ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}
# on first use; later runs reuse it. The shared parts are in ../toolchain.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"

build_python_plugin timer-transformer
