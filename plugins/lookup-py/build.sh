#!/usr/bin/env bash
# Build the Python `lookup` plugin (tables) into a component:
#     plugins/lookup-py/build.sh target/plugins/lookup-py.wasm
# Installs componentize-py (PyPI) into ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}
# on first use; later runs reuse it. The shared parts are in ../toolchain.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"

CPY_VERSION=0.25.1           # PyPI: componentize-py

ensure_venv_tool componentize-py "$CPY_VERSION" "componentize-py==$CPY_VERSION"
venv=$tools/componentize-py-$CPY_VERSION

# No --stub-wasi: eoshost links WASI preview 2, and CPython's start-up only
# asks it for an (empty) environment, no preopens, the clock and random seed.
# From a copy: componentize-py leaves __pycache__ next to the sources.
mkdir "$work/src"
cp "$here"/*.py "$work/src/"
run_logged "$venv/bin/componentize-py" -d "$root/wit" -w table-transformer componentize \
    -p "$work/src" app -o "$work/enrich.wasm"
deliver
