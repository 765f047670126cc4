"""enrich: an eoshost transform in Python (componentize-py), built for the
`batch-transformer` world: the rules are in enrich_order.py; this file maps
records to them, and eoshost_sdk's `Batch` answers batches with `transform`.
"""

import wit_world
from componentize_py_types import Err
from enrich_order import Rejected, enrich_value
from eoshost_sdk import Batch, Transformer  # noqa: F401  (Batch: the `batch` export)
from wit_world.imports.types import Error_Rejected, Header, InputRecord, OutputRecord


class WitWorld(Transformer, wit_world.WitWorld):
    def init(self, config):
        for key, _value in config:
            raise Err(f'unknown config key "{key}"')

    def transform(self, record: InputRecord):
        try:
            value, region = enrich_value(record.value)
        except Rejected as e:
            raise Err(Error_Rejected(str(e)))
        headers = [h for h in record.headers if h.key != "region"]
        headers.append(Header("region", region.encode()))
        return [OutputRecord(topic=None, key=record.key, value=value, headers=headers)]
