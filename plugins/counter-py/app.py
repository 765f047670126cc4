"""counter: the stateful eoshost transform, in Python (componentize-py).

For each record with key K, adds one to K's count in the partition's state
and outputs one record with key K and value the new count as ASCII decimal
("1", "2", ...), like the Rust `counter` (plugins/counter), byte for byte.
A record without a key is rejected.

The state interface (wit/transform.wit, world `stateful-transformer`) is
imported as `wit_world.imports.state`: `get(key) -> bytes | None`,
`set(key, value)`, `delete(key)`, all bytes, scoped by eoshost to the input
partition of the record in process and kept exactly once. Call them only
from `transform`: a record's writes are undone when it is rejected, skipped,
dead-lettered or traps, and the whole transaction's when it aborts.
"""

import wit_world
from componentize_py_types import Err
from wit_world.imports import state
from wit_world.imports.types import Error_Rejected, InputRecord, OutputRecord


class WitWorld(wit_world.WitWorld):
    def init(self, config):
        for key, _value in config:
            raise Err(f'unknown config key "{key}"')

    def transform(self, record: InputRecord):
        if record.key is None:
            raise Err(Error_Rejected("the record has no key: counter counts per key"))
        stored = state.get(record.key)
        count = 0 if stored is None else int(stored.decode("ascii"))
        value = str(count + 1).encode("ascii")
        state.set(record.key, value)
        return [OutputRecord(topic=None, key=record.key, value=value, headers=[])]
