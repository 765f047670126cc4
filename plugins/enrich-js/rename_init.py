#!/usr/bin/env python3
"""Rename the export `eoshost-init` of a componentize-qjs component to `init`.

    rename_init.py IN.wat OUT.wat

Why: componentize-qjs (0.4.5) exports a function named `init` of its own (the
build-time initialisation of the QuickJS runtime: `init(shim, script,
entry-path, disable-gc)`), and so cannot build a world that exports `init`
(it fails with "one or more duplicate items detected when collecting into set
or map"). build.sh therefore builds the world with `init` renamed to
`eoshost-init`, and this script edits the outer component (printed as text
by `wasm-tools print`): it drops the runtime's `init` export, which nothing
needs once the component is built, and exports `eoshost-init` as `init`.
The types are untouched, so the result exports exactly the eoshost world
(the `batch` instance export, which follows these, is left as it is).
It fails loudly if the component's exports are not laid out as it expects.
"""

import re
import sys

TAIL = re.compile(
    r'  \(alias export (?P<inst>\d+) "init" \(func \(;(?P<a>\d+);\)\)\)\n'
    r'  \(export \(;(?P<b>\d+);\) "init" \(func (?P=a)\)\)\n'
    r'  \(alias export (?P=inst) "eoshost-init" \(func \(;(?P<c>\d+);\)\)\)\n'
    r'  \(export \(;(?P<d>\d+);\) "eoshost-init" \(func (?P=c)\)\)\n'
    r'  \(alias export (?P=inst) "transform" \(func \(;(?P<e>\d+);\)\)\)\n'
    r'  \(export \(;(?P<f>\d+);\) "transform" \(func (?P=e)\)\)\n'
)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    wat = open(src, encoding="utf-8").read()
    found = list(TAIL.finditer(wat))
    if len(found) != 1:
        sys.exit("rename_init.py: the component's exports are not laid out as expected "
                 "(componentize-qjs version changed?)")
    m = found[0]
    a = int(m["a"])
    if [int(m[k]) for k in "abcdef"] != list(range(a, a + 6)):
        sys.exit("rename_init.py: unexpected function indices")
    inst = m["inst"]
    new = (
        f'  (alias export {inst} "eoshost-init" (func (;{a};)))\n'
        f'  (export (;{a + 1};) "init" (func {a}))\n'
        f'  (alias export {inst} "transform" (func (;{a + 2};)))\n'
        f'  (export (;{a + 3};) "transform" (func {a + 2}))\n'
    )
    open(dst, "w", encoding="utf-8").write(wat[: m.start()] + new + wat[m.end() :])


if __name__ == "__main__":
    main()
