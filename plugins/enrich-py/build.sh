#!/usr/bin/env bash
# Build the Python `enrich` plugin into a component:
#     plugins/enrich-py/build.sh target/plugins/enrich-py.wasm
# Installs componentize-py (PyPI) into ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}
# on first use; later runs reuse it.
set -euo pipefail

out=${1:?usage: $0 OUT.wasm}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${EOSHOST_TOOLS:-$HOME/.cache/eoshost/tools}
mkdir -p "$(dirname "$out")" "$tools"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

CPY_VERSION=0.25.1           # PyPI: componentize-py

say() { echo "enrich-py: $*" >&2; }

venv=$tools/componentize-py-$CPY_VERSION
if [ ! -e "$venv/.installed" ]; then
    say "installing componentize-py $CPY_VERSION (PyPI) into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$CPY_VERSION"
    touch "$venv/.installed"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# No --stub-wasi: eoshost links WASI preview 2, and CPython's start-up only
# asks it for an (empty) environment, no preopens, the clock and random seed.
# From a copy: componentize-py leaves __pycache__ next to the sources.
mkdir "$work/src"
cp "$here"/*.py "$work/src/"
"$venv/bin/componentize-py" -d "$root/wit" -w transformer componentize \
    -p "$work/src" app -o "$work/enrich.wasm" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
mv "$work/enrich.wasm" "$out"
say "built $out ($(wc -c <"$out") bytes)"
