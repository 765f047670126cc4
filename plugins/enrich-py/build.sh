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

CPY_VERSION=0.25.1
venv=$tools/componentize-py-$CPY_VERSION
if [ ! -e "$venv/.installed" ]; then
    echo "installing componentize-py $CPY_VERSION into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$CPY_VERSION"
    touch "$venv/.installed"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# `record` is a WIT keyword: a parameter of that name must be written
# `%record`. Until wit/transform.wit does so, build from a copy that does
# (same component types: `%` only escapes the name).
mkdir "$work/wit"
for f in "$root"/wit/*.wit; do
    sed 's/(record:/(%record:/g' "$f" >"$work/wit/$(basename "$f")"
done

# No --stub-wasi: eoshost links WASI preview 2, and CPython's start-up only
# asks it for an (empty) environment, no preopens, the clock and random seed.
"$venv/bin/componentize-py" -d "$work/wit" -w transformer componentize \
    -p "$here" app -o "$work/enrich.wasm" >&2
mv "$work/enrich.wasm" "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
