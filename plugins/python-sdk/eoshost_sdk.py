"""eoshost_sdk: what every Python plugin gets beside its own code (copied
next to app.py by plugins/toolchain.sh's build_python_plugin).

Records in batches: a plugin built for the `batch-transformer` world writes
only the per-record `transform` on its `WitWorld` and adds two lines to
app.py:

    from eoshost_sdk import Batch, Transformer    # Batch: the `batch` export

    class WitWorld(Transformer, wit_world.WitWorld):
        def init(self, config): ...
        def transform(self, record): ...          # returns outputs or raises Err

eoshost then hands it several records per call (`transform-batch`), and
`Batch` answers each with what `transform` says of it: entering the Python
runtime once per batch instead of once per record. The contract is that of
`transform-batch` in wit/transform.wit: one result per record, in order; a
rejection (`Err`) stays that record's; any other exception traps the call
and eoshost sends the batch's records through `transform` one by one.

Timers: a plugin built for the `timer-transformer` world writes its
`on_timer` on the same `WitWorld` as `transform`, and exports it with the
SDK's `TimerHandler` (componentize-py looks for a class of that name in
app.py for the `timer-handler` export):

    from eoshost_sdk import TimerHandler, Transformer  # TimerHandler: the export
    from wit_world.imports import timers               # schedule, cancel, clocks

    class WitWorld(Transformer, wit_world.WitWorld):
        def init(self, config): ...
        def transform(self, record): ...    # may call timers.schedule(...)
        def on_timer(self, clock, key, time):
            return [timers.TimerOutput(output=..., timestamp=None, partition=None)]

`on_timer` returns the records to produce (`timestamp=None`: the timer's
time; `partition=None`: Kafka's partitioner) or raises `Err` with a
rejection, as `transform` does; state and timer calls inside it act on the
timer's partition. plugins/window-count-py/app.py is a complete example.

JSON text: `json_string(text)` is `text` as a JSON string literal escaped
exactly as the Rust plugins' serde_json escapes it, so the Python and Rust
versions of a plugin write the same bytes.
"""

import json

from componentize_py_types import Err, Ok

_world_class = None


class Transformer:
    """Base of a plugin's `WitWorld`: tells `Batch` and `TimerHandler` which
    class answers for each record and timer. componentize-py makes a new `WitWorld` for every call, so
    what `init` reads from the configuration goes in module globals, not in
    `self` (plugins/lookup-py/app.py shows how)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        global _world_class
        _world_class = cls


def each(transform, records):
    """`transform` applied to every record: `Ok(outputs)` or the `Err` it
    raised, in order. Other exceptions propagate (a trap)."""
    results = []
    append = results.append
    for record in records:
        try:
            append(Ok(transform(record)))
        except Err as rejected:
            append(rejected)
    return results


class Batch:
    """The `batch` export of the `batch-transformer` world."""

    def transform_batch(self, inputs):
        if _world_class is None:
            raise RuntimeError("eoshost_sdk.Batch needs the plugin's WitWorld to derive from eoshost_sdk.Transformer")
        return each(_world_class().transform, inputs)


class TimerHandler:
    """The `timer-handler` export of the `timer-transformer` world: hands
    each timer to the `on_timer` of the plugin's `WitWorld`."""

    def on_timer(self, clock, key, time):
        if _world_class is None:
            raise RuntimeError("eoshost_sdk.TimerHandler needs the plugin's WitWorld to derive from eoshost_sdk.Transformer")
        return _world_class().on_timer(clock, key, time)


def json_string(text):
    """`text` as a JSON string literal, as serde_json writes it: `"`, `\\`
    and U+0000..U+001F escaped (`\\b \\f \\n \\r \\t`, the others as
    `\\u00xx`), everything else written as it is."""
    return json.dumps(text, ensure_ascii=False)
