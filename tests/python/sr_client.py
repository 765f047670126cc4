#!/usr/bin/env python3
"""A Schema Registry client nobody on eoshost wrote, for the typed-record
tests (tests/tests/typed_records.rs): Confluent's own Python serializers
(confluent-kafka's AvroSerializer, ProtobufSerializer and JSONSerializer and
their deserializers) write numbered orders to Kafka and read them back, so
that what eoshost decodes and encodes is checked against a real client's
wire format, not against the host's own idea of it.

Record n is deterministic (order(n) below), so the reader compares every
record field by field with what record n must be, and prints one JSON line:
{"read", "distinct", "duplicates", "missing", "mismatched", "order_violations",
"undecodable", "unexpected", "first_mismatch", "schema_ids",
"schema_problems", ...}.

Apicurio (scripts/schema-registry) keeps Protobuf schemas as .proto text
only, where Confluent's registry also takes and serves the base64 descriptor
the Python Protobuf serdes use: see ProtoTextRegistry and deserializers().

Subcommands:
  produce      records S..S+N-1, serialized by the registry's serializer
               (--schema v1|v2: v2 adds the optional field `channel`)
  consume      reads read_committed until N distinct records of S.. are in
  produce-raw  bad inputs (no magic byte, an unknown schema id, undecodable
               bytes) or framed Avro with a given schema id, written with
               fastavro's schemaless_writer: no registry call at all
  register     registers a schema file under a subject, prints its id
  schema       prints the test's schema of a format and version
  compatibility  sets the compatibility level of a subject (or the registry)
  serialize    values serialized by AvroSerializer, no Kafka: base64, one a line
  deserialize  reads a topic read_committed through AvroDeserializer, one JSON line a record
  produce-referenced  Avro orders whose schema refers to a Customer record
               registered under a subject of its own (a schema reference)

Usage: sr_client.py SUBCOMMAND --help.
"""

import argparse
import base64
import datetime
import decimal
import io
import json
import struct
import sys
import time
import urllib.error
import urllib.request
import warnings

# authlib (a dependency of the registry client) warns on import that it will
# move to httpx2: noise on every run's stderr. Its own module turns its
# warnings to "always" when imported, so this filter goes in after it.
try:
    import authlib.deprecate  # noqa: F401
except ImportError:
    pass
warnings.filterwarnings("ignore", message="The httpx module is deprecated")

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext, StringDeserializer, StringSerializer

# ------------------------------------------------------------------- records

KEYS = 40
COUNTRIES = ["DE", "US", "JP", "BR", "FR"]
# Non-ASCII on purpose: JSON escaping and UTF-8 on every hop.
NAMES = ["Ana", "Zoë Ångström", "東京 Trading", "O'Brien \"Q\"", "Søren\\Kierkegaard", "Émile"]
STATUSES = ["NEW", "PAID", "SHIPPED", "CANCELLED"]
CHANNELS = ["web", "store", "phone"]
# 2023-11-14T22:13:20Z
CREATED_BASE_MS = 1_700_000_000_000


def key_of(n):
    return f"c-{n % KEYS}"


def order(n, version):
    """Record n as plain Python values (the Avro deserializer's shapes:
    Decimal, aware datetime). `version` is v1, v2 or v2-null (v2's shape,
    channel null: a v1 record read through a v2 schema)."""
    amount = decimal.Decimal(n * 37 % 1_000_000).scaleb(-2)
    if n % 11 == 0:
        amount = -amount
    created_at_ms = CREATED_BASE_MS + n * 1000 + n % 997
    record = {
        "id": f"o-{n}",
        "n": n,
        "customer": {"id": key_of(n), "name": NAMES[n % len(NAMES)], "country": COUNTRIES[n % len(COUNTRIES)]},
        "amount": amount.quantize(decimal.Decimal("0.01")),
        "note": None if n % 5 == 0 else f"note {n} ✓",
        "status": STATUSES[n % len(STATUSES)],
        "tags": [f"t{n % 3}", f"t{n % 7}", "x"][: n % 4],
        "attrs": {} if n % 4 == 0 else {"k": str(n), "src": "sr-client"},
        "created": datetime.datetime.fromtimestamp(created_at_ms // 1000, tz=datetime.timezone.utc).replace(
            microsecond=(created_at_ms % 1000) * 1000
        ),
    }
    if version == "v2":
        record["channel"] = None if n % 4 == 1 else CHANNELS[n % len(CHANNELS)]
    elif version == "v2-null":
        record["channel"] = None
    return record


def created_ms(record):
    return CREATED_BASE_MS + record["n"] * 1000 + record["n"] % 997


# ------------------------------------------------------------------- Avro

AVRO_CUSTOMER = {
    "type": "record",
    "name": "Customer",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "country", "type": "string"},
    ],
}


def avro_schema(version):
    fields = [
        {"name": "id", "type": "string"},
        {"name": "n", "type": "long"},
        {"name": "customer", "type": AVRO_CUSTOMER},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": STATUSES}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "string"}},
        {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ]
    if version != "v1":
        fields.append({"name": "channel", "type": ["null", "string"], "default": None})
    return {"type": "record", "name": "Order", "namespace": "eoshost.test", "fields": fields}


AVRO_KEY = {"type": "record", "name": "OrderKey", "namespace": "eoshost.test", "fields": [{"name": "customer", "type": "string"}]}

# ------------------------------------------------------------------- Protobuf


def proto_text(version):
    """The .proto text of the Protobuf schema (what `schema` writes; the
    serializer registers the same descriptor, built below)."""
    channel = "  optional string channel = 10;\n" if version != "v1" else ""
    return (
        'syntax = "proto3";\n'
        "package eoshost.test;\n"
        'import "google/protobuf/timestamp.proto";\n\n'
        "message Order {\n"
        "  string id = 1;\n"
        "  int64 n = 2;\n"
        "  Customer customer = 3;\n"
        "  double amount = 4;\n"
        "  optional string note = 5;\n"
        "  Status status = 6;\n"
        "  repeated string tags = 7;\n"
        "  map<string, string> attrs = 8;\n"
        "  google.protobuf.Timestamp created = 9;\n"
        f"{channel}"
        "}\n\n"
        "message Customer {\n  string id = 1;\n  string name = 2;\n  string country = 3;\n}\n\n"
        "enum Status {\n  NEW = 0;\n  PAID = 1;\n  SHIPPED = 2;\n  CANCELLED = 3;\n}\n\n"
        "message OrderKey {\n  string customer = 1;\n}\n"
    )


_PROTO_CLASSES = {}


def proto_classes(version):
    """(Order, OrderKey) message classes of `version`, from a
    FileDescriptorProto built here (no protoc on the machine), each version
    in its own descriptor pool so that both may be named eoshost.test.Order."""
    version = "v1" if version == "v1" else "v2"
    if version in _PROTO_CLASSES:
        return _PROTO_CLASSES[version]
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto()
    file.name = "eoshost_order.proto"
    file.package = "eoshost.test"
    file.syntax = "proto3"
    file.dependency.append("google/protobuf/timestamp.proto")

    def field(message, name, number, kind, type_name=None, label=F.LABEL_OPTIONAL, oneof=None, proto3_optional=False):
        f = message.field.add()
        f.name, f.number, f.type, f.label = name, number, kind, label
        f.json_name = name
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof
        if proto3_optional:
            f.proto3_optional = True
        return f

    order_message = file.message_type.add()
    order_message.name = "Order"
    field(order_message, "id", 1, F.TYPE_STRING)
    field(order_message, "n", 2, F.TYPE_INT64)
    field(order_message, "customer", 3, F.TYPE_MESSAGE, ".eoshost.test.Customer")
    field(order_message, "amount", 4, F.TYPE_DOUBLE)
    # proto3 `optional`: a synthetic oneof per field, declared after the real ones.
    order_message.oneof_decl.add().name = "_note"
    field(order_message, "note", 5, F.TYPE_STRING, oneof=0, proto3_optional=True)
    field(order_message, "status", 6, F.TYPE_ENUM, ".eoshost.test.Status")
    field(order_message, "tags", 7, F.TYPE_STRING, label=F.LABEL_REPEATED)
    entry = order_message.nested_type.add()
    entry.name = "AttrsEntry"
    entry.options.map_entry = True
    field(entry, "key", 1, F.TYPE_STRING)
    field(entry, "value", 2, F.TYPE_STRING)
    field(order_message, "attrs", 8, F.TYPE_MESSAGE, ".eoshost.test.Order.AttrsEntry", label=F.LABEL_REPEATED)
    field(order_message, "created", 9, F.TYPE_MESSAGE, ".google.protobuf.Timestamp")
    if version == "v2":
        order_message.oneof_decl.add().name = "_channel"
        field(order_message, "channel", 10, F.TYPE_STRING, oneof=1, proto3_optional=True)

    customer = file.message_type.add()
    customer.name = "Customer"
    for number, name in enumerate(["id", "name", "country"], start=1):
        field(customer, name, number, F.TYPE_STRING)

    status = file.enum_type.add()
    status.name = "Status"
    for number, name in enumerate(STATUSES):
        value = status.value.add()
        value.name, value.number = name, number

    key = file.message_type.add()
    key.name = "OrderKey"
    field(key, "customer", 1, F.TYPE_STRING)

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    classes = (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("eoshost.test.Order")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("eoshost.test.OrderKey")),
    )
    _PROTO_CLASSES[version] = classes
    return classes


class ProtoTextRegistry:
    """The registry as ProtobufSerializer sees it, for Apicurio. The
    serializer registers a schema as the base64 of its FileDescriptorProto,
    which Confluent's registry accepts and Apicurio 2.4's ccompat API refuses
    ("Syntax error ... unexpected label"): Apicurio takes .proto text only.
    So the registration of this test's own file is made with its .proto
    text (proto_text(), the same definitions); every other call goes through
    unchanged."""

    def __init__(self, client, order_class, version):
        self._client = client
        descriptor = base64.standard_b64encode(order_class.DESCRIPTOR.file.serialized_pb).decode("ascii")
        self._texts = {descriptor: proto_text(version)}

    def _as_text(self, schema):
        text = self._texts.get(schema.schema_str)
        if text is None:
            return schema
        return Schema(text, schema.schema_type, schema.references)

    def register_schema_full_response(self, subject, schema, normalize_schemas=False):
        return self._client.register_schema_full_response(subject, self._as_text(schema), normalize_schemas=normalize_schemas)

    def register_schema(self, subject, schema, normalize_schemas=False):
        return self._client.register_schema(subject, self._as_text(schema), normalize_schemas=normalize_schemas)

    def lookup_schema(self, subject, schema, *args, **kwargs):
        return self._client.lookup_schema(subject, self._as_text(schema), *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def to_proto(record, version):
    order_class, _ = proto_classes(version)
    message = order_class()
    message.id = record["id"]
    message.n = record["n"]
    message.customer.id = record["customer"]["id"]
    message.customer.name = record["customer"]["name"]
    message.customer.country = record["customer"]["country"]
    message.amount = float(record["amount"])
    if record["note"] is not None:
        message.note = record["note"]
    message.status = STATUSES.index(record["status"])
    message.tags.extend(record["tags"])
    message.attrs.update(record["attrs"])
    message.created.FromMilliseconds(created_ms(record))
    if record.get("channel") is not None:
        message.channel = record["channel"]
    return message


# ------------------------------------------------------------------- JSON Schema


def json_schema(version):
    properties = {
        "id": {"type": "string"},
        "n": {"type": "integer"},
        "customer": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "country": {"type": "string"}},
            "required": ["id", "name", "country"],
            "additionalProperties": False,
        },
        "amount": {"type": "number"},
        "note": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": STATUSES},
        "tags": {"type": "array", "items": {"type": "string"}},
        "attrs": {"type": "object", "additionalProperties": {"type": "string"}},
        "created": {"type": "string", "format": "date-time"},
    }
    if version != "v1":
        properties["channel"] = {"type": ["string", "null"]}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Order",
        "type": "object",
        "properties": properties,
        "required": ["id", "n", "customer", "amount", "status", "tags", "attrs", "created"],
        # Closed, so that v2's optional `channel` is a BACKWARD-compatible
        # addition (to an open model it would narrow what `channel` may be).
        "additionalProperties": False,
    }


JSON_KEY = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "OrderKey",
    "type": "object",
    "properties": {"customer": {"type": "string"}},
    "required": ["customer"],
}


def rfc3339_ms(ms):
    moment = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def to_json(record):
    """Record n as the JSON Schema format writes it (amount a number, created
    an RFC 3339 string)."""
    out = dict(record)
    out["customer"] = dict(record["customer"])
    out["amount"] = float(record["amount"])
    out["created"] = rfc3339_ms(created_ms(record))
    return out


# ------------------------------------------------------------------- serdes


def registry_client(url):
    return SchemaRegistryClient({"url": url})


def serializers(fmt, registry, version):
    """(key serializer of a typed key, value serializer) of `fmt`."""
    if fmt == "avro":
        from confluent_kafka.schema_registry.avro import AvroSerializer

        value = AvroSerializer(registry, json.dumps(avro_schema(version)), lambda r, ctx: r)
        key = AvroSerializer(registry, json.dumps(AVRO_KEY), lambda k, ctx: k)
        return key, value, lambda r: r
    if fmt == "protobuf":
        from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

        order_class, key_class = proto_classes(version)
        shim = ProtoTextRegistry(registry, order_class, version)
        conf = {"use.deprecated.format": False}
        value = ProtobufSerializer(order_class, shim, conf)
        key = ProtobufSerializer(key_class, shim, conf)

        def key_message(k):
            message = key_class()
            message.customer = k["customer"]
            return message

        return (lambda k, ctx: key(key_message(k), ctx)), value, lambda r: to_proto(r, version)
    if fmt == "json-schema":
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        value = JSONSerializer(json.dumps(json_schema(version)), registry, lambda r, ctx: r)
        key = JSONSerializer(json.dumps(JSON_KEY), registry, lambda k, ctx: k)
        return key, value, to_json
    raise SystemExit(f"unknown format {fmt}")


def deserializers(fmt, registry):
    """(key deserializer of a typed key, value deserializer) of `fmt`; each
    returns a plain dict in the shapes of order() (protobuf messages are read
    with the v2 class, which reads v1 records too)."""
    if fmt == "avro":
        from confluent_kafka.schema_registry.avro import AvroDeserializer

        return AvroDeserializer(registry), AvroDeserializer(registry)
    if fmt == "protobuf":
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer

        # No registry: Apicurio answers with .proto text, which this client
        # cannot compile (ProtoTextRegistry); the deserializer still parses
        # the framing (magic byte, id, message indexes) and reads the message
        # with the test's own class. The ids are checked against the
        # registry apart (check_protobuf_ids).
        order_class, key_class = proto_classes("v2")
        conf = {"use.deprecated.format": False}
        value = ProtobufDeserializer(order_class, conf, None)
        key = ProtobufDeserializer(key_class, conf, None)
        return (lambda data, ctx: {"customer": key(data, ctx).customer}), (lambda data, ctx: from_proto(value(data, ctx)))
    if fmt == "json-schema":
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer

        return JSONDeserializer(None, schema_registry_client=registry), JSONDeserializer(None, schema_registry_client=registry)
    raise SystemExit(f"unknown format {fmt}")


def from_proto(message):
    """A protobuf Order as the dict to_proto() was given (v2 shape: channel
    None when unset)."""
    if message is None:
        return None
    record = {
        "id": message.id,
        "n": message.n,
        "customer": {"id": message.customer.id, "name": message.customer.name, "country": message.customer.country},
        "amount": message.amount,
        "note": message.note if message.HasField("note") else None,
        "status": STATUSES[message.status] if 0 <= message.status < len(STATUSES) else message.status,
        "tags": list(message.tags),
        "attrs": dict(message.attrs),
        "created": message.created.ToMilliseconds(),
        "channel": message.channel if message.HasField("channel") else None,
    }
    return record


def expected(fmt, n, version):
    """What the reader must see for record n, in the deserializer's shapes."""
    record = order(n, version)
    if fmt == "avro":
        return record
    if fmt == "protobuf":
        shaped = dict(record)
        shaped["amount"] = float(record["amount"])
        shaped["created"] = created_ms(record)
        shaped.setdefault("channel", None)
        return shaped
    return to_json(record)


def first_difference(want, got, path="$"):
    """Where `got` first differs from `want`: `path: want … got …`."""
    if isinstance(want, dict) and isinstance(got, dict):
        for name in list(want) + [k for k in got if k not in want]:
            if name not in got:
                return f"{path}.{name}: missing (want {want[name]!r})"
            if name not in want:
                return f"{path}.{name}: not expected (got {got[name]!r})"
            found = first_difference(want[name], got[name], f"{path}.{name}")
            if found:
                return found
        return None
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got)):
            found = first_difference(w, g, f"{path}[{i}]")
            if found:
                return found
        return None
    if want == got and type(want) is type(got):
        return None
    # int/float and Decimal precision differences are differences too, but
    # name them plainly.
    return f"{path}: want {want!r} ({type(want).__name__}), got {got!r} ({type(got).__name__})"


# ------------------------------------------------------------------- subcommands


def delivery_tracker():
    failures = []

    def report(error, message):
        if error is not None:
            failures.append(f"{message.topic()}/{message.partition()}: {error}")

    return failures, report


def new_producer(bootstrap):
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
        }
    )


def send(producer, topic, key, value, report, headers=None):
    while True:
        try:
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=report)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)


def finish(producer, failures, what):
    left = producer.flush(60)
    if left or failures:
        raise SystemExit(f"{what}: {left} records unacknowledged, {len(failures)} failed; first: {failures[:1]}")


def cmd_produce(args):
    registry = registry_client(args.registry)
    key_serializer, value_serializer, shape = serializers(args.format, registry, args.schema)
    plain_key = StringSerializer("utf_8")
    producer = new_producer(args.bootstrap)
    failures, report = delivery_tracker()
    started = time.monotonic()
    for i, n in enumerate(range(args.start, args.start + args.count)):
        if args.rate:
            due = started + i / args.rate
            now = time.monotonic()
            if due > now:
                producer.poll(due - now)
        value = value_serializer(shape(order(n, args.schema)), SerializationContext(args.topic, MessageField.VALUE))
        if args.key:
            key = key_serializer({"customer": key_of(n)}, SerializationContext(args.topic, MessageField.KEY))
        else:
            key = plain_key(key_of(n))
        send(producer, args.topic, key, value, report)
    finish(producer, failures, f"producing {args.count} {args.format} records to {args.topic}")
    print(json.dumps({"produced": args.count, "start": args.start, "schema": args.schema, "format": args.format}))


def reader(args):
    """A read_committed consumer of every partition of the topic from its
    beginning (assigned, no group join), and the partitions."""
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"sr-client-reader-{time.time_ns()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 100,
        }
    )
    metadata = consumer.list_topics(args.topic, timeout=10)
    partitions = sorted(metadata.topics[args.topic].partitions)
    if not partitions:
        raise SystemExit(f"topic {args.topic} has no partitions")
    consumer.assign([TopicPartition(args.topic, p, -2) for p in partitions])  # -2: OFFSET_BEGINNING
    return consumer, partitions


def cmd_consume(args):
    registry = registry_client(args.registry)
    key_deserializer, value_deserializer = deserializers(args.format, registry)
    plain_key = StringDeserializer("utf_8")
    consumer, partitions = reader(args)
    wanted = set(range(args.expect_start, args.expect_start + args.expect_count))
    seen = {}
    latest = {}
    summary = {
        "read": 0,
        "distinct": 0,
        "duplicates": 0,
        "missing": 0,
        "mismatched": 0,
        "order_violations": 0,
        "undecodable": 0,
        "unexpected": 0,
        "first_mismatch": None,
        "first_undecodable": None,
        "duplicate_sample": [],
        "missing_sample": [],
        "order_sample": [],
    }
    schema_ids = set()
    at_end = {p: False for p in partitions}
    deadline = time.monotonic() + args.timeout
    last_news = time.monotonic()
    while time.monotonic() < deadline:
        message = consumer.poll(0.1)
        if message is not None and message.error() is not None:
            if message.error().code() == KafkaError._PARTITION_EOF:
                at_end[message.partition()] = True
                continue
            raise SystemExit(f"reading {args.topic}: {message.error()}")
        if message is not None:
            at_end[message.partition()] = False
            last_news = time.monotonic()
            summary["read"] += 1
            where = f"{message.partition()}@{message.offset()}"
            raw = message.value() or b""
            if len(raw) >= 5 and raw[0] == 0:
                schema_ids.add(struct.unpack(">i", raw[1:5])[0])
            try:
                value = value_deserializer(message.value(), SerializationContext(args.topic, MessageField.VALUE, message.headers()))
                if args.key:
                    key = key_deserializer(message.key(), SerializationContext(args.topic, MessageField.KEY, message.headers()))
                else:
                    key = plain_key(message.key(), None)
            except Exception as error:  # the deserializer's own verdict
                summary["undecodable"] += 1
                if summary["first_undecodable"] is None:
                    raw = message.value() or b""
                    summary["first_undecodable"] = f"{where}: {type(error).__name__}: {error} (value starts {raw[:16].hex()})"
                continue
            n = value.get("n") if isinstance(value, dict) else None
            if not isinstance(n, int) or n not in wanted:
                summary["unexpected"] += 1
                if summary["first_mismatch"] is None:
                    summary["first_mismatch"] = f"{where}: not an expected record: {str(value)[:200]}"
                continue
            seen[n] = seen.get(n, 0) + 1
            if seen[n] > 1:
                summary["duplicates"] += 1
                if len(summary["duplicate_sample"]) < 10:
                    summary["duplicate_sample"].append(n)
                continue
            stream = (message.partition(), json.dumps(key, sort_keys=True, default=str))
            if stream in latest and latest[stream] > n:
                summary["order_violations"] += 1
                if len(summary["order_sample"]) < 10:
                    summary["order_sample"].append(f"{where}: {n} after {latest[stream]}")
            else:
                latest[stream] = n
            version = "v2" if args.v2_from is not None and n >= args.v2_from else args.schema
            difference = first_difference(expected(args.format, n, version), value)
            want_key = {"customer": key_of(n)} if args.key else key_of(n)
            if difference is None and key != want_key:
                difference = f"key: want {want_key!r}, got {key!r}"
            if difference is not None:
                summary["mismatched"] += 1
                if summary["first_mismatch"] is None:
                    summary["first_mismatch"] = f"record {n} at {where}: {difference}"
        complete = len(seen) >= len(wanted) and all(at_end.values())
        if complete and time.monotonic() - last_news >= 1.0:
            break
    consumer.close()
    summary["distinct"] = len(seen)
    missing = sorted(wanted - set(seen))
    summary["missing"] = len(missing)
    summary["missing_sample"] = missing[:10]
    summary["schema_ids"] = sorted(schema_ids)
    summary["schema_problems"] = schema_problems(registry, f"{args.topic}-value", args.format, schema_ids)
    print(json.dumps(summary, ensure_ascii=False))


REGISTRY_TYPES = {"avro": "AVRO", "protobuf": "PROTOBUF", "json-schema": "JSON"}


def schema_problems(registry, subject, fmt, schema_ids):
    """What is wrong with the schema ids the values carry: each must be a
    version of `subject` (the TopicNameStrategy subject of the topic's
    values), of the format's schema type. Empty when all is right."""
    problems = []
    try:
        registered = {registry.get_version(subject, version).schema_id for version in registry.get_versions(subject)}
    except Exception as error:
        return [f"listing the versions of {subject}: {error}"]
    for schema_id in sorted(schema_ids):
        if schema_id not in registered:
            problems.append(f"id {schema_id} is no version of {subject} (its ids: {sorted(registered)})")
            continue
        kind = registry.get_schema(schema_id).schema_type or "AVRO"
        if kind != REGISTRY_TYPES[fmt]:
            problems.append(f"id {schema_id} is a {kind} schema, not {REGISTRY_TYPES[fmt]}")
    return problems


def raw_value(args, n):
    """The value bytes of raw record n of `--kind`."""
    if args.kind == "no-magic":
        # Plain JSON: what a producer without the serializer writes.
        return json.dumps({"id": f"o-{n}", "n": n}).encode()
    if args.kind == "unknown-id":
        return b"\x00" + struct.pack(">i", args.schema_id) + f"order {n}".encode()
    if args.kind == "undecodable":
        # A real id, then bytes no Order reads: a one-byte id that is no
        # UTF-8, then a long whose varint runs past the end.
        return b"\x00" + struct.pack(">i", args.schema_id) + b"\x02\xfe\xff\xff\xff"
    import fastavro

    parsed = fastavro.parse_schema(avro_schema(args.schema))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, parsed, order(n, args.schema))
    return b"\x00" + struct.pack(">i", args.schema_id) + body.getvalue()


def cmd_produce_raw(args):
    """Records whose value bytes are made here, not by a serializer: prints
    one JSON line, {"records": [{"n", "partition", "offset", "value_hex"}]}."""
    producer = new_producer(args.bootstrap)
    failures = []
    written = []

    def report(error, message, n):
        if error is not None:
            failures.append(f"record {n}: {error}")
        else:
            written.append({"n": n, "partition": message.partition(), "offset": message.offset(), "value_hex": message.value().hex()})

    for n in range(args.start, args.start + args.count):
        value = raw_value(args, n)
        send(producer, args.topic, key_of(n).encode(), value, lambda error, message, n=n: report(error, message, n))
    finish(producer, failures, f"producing {args.count} raw {args.kind} records to {args.topic}")
    written.sort(key=lambda record: record["n"])
    print(json.dumps({"records": written}))


def schema_text(fmt, version):
    if fmt == "avro":
        return json.dumps(avro_schema(version), indent=2)
    if fmt == "protobuf":
        return proto_text(version)
    return json.dumps(json_schema(version), indent=2)


def cmd_register(args):
    with open(args.schema_file, encoding="utf-8") as file:
        text = file.read()
    registry = registry_client(args.registry)
    schema_id = registry.register_schema(args.subject, Schema(text, args.type))
    print(schema_id)


def cmd_schema(args):
    sys.stdout.write(schema_text(args.format, args.schema) + "\n")


def cmd_compatibility(args):
    """PUT <registry>/config[/subject] {"compatibility": LEVEL}."""
    path = "/config" + (f"/{urllib.request.quote(args.subject, safe='')}" if args.subject else "")
    request = urllib.request.Request(
        args.registry.rstrip("/") + path,
        data=json.dumps({"compatibility": args.level}).encode(),
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        method="PUT",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            print(answer.read().decode())
    except urllib.error.HTTPError as error:
        raise SystemExit(f"PUT {path}: {error.code} {error.read().decode()}")


# ------------------------------------------------------------------- serialize, deserialize
# For tests/tests/typed_records_everywhere.rs: values made by AvroSerializer
# without Kafka (for `eoshost test` input lines, or for a Rust producer), and
# a topic read back by AvroDeserializer as plain JSON, for records that are
# not numbered orders.


def cmd_serialize(args):
    """Values serialized by Confluent's AvroSerializer (which registers their
    schema under <topic>-value, as when producing): one line of base64 per
    value. Either orders N.. of --schema (--n, --count), or the JSON objects
    of --records FILE (one a line) with the Avro schema in --schema-file."""
    from confluent_kafka.schema_registry.avro import AvroSerializer

    if args.records:
        if not args.schema_file:
            raise SystemExit("--records needs --schema-file")
        with open(args.schema_file, encoding="utf-8") as file:
            schema = file.read()
        with open(args.records, encoding="utf-8") as file:
            values = [json.loads(line) for line in file if line.strip()]
    else:
        if args.n is None:
            raise SystemExit("give --n N (orders) or --records FILE")
        schema = json.dumps(avro_schema(args.schema))
        values = [order(n, args.schema) for n in range(args.n, args.n + args.count)]
    serializer = AvroSerializer(registry_client(args.registry), schema, lambda r, ctx: r)
    context = SerializationContext(args.topic, MessageField.VALUE)
    for value in values:
        print(base64.standard_b64encode(serializer(value, context)).decode("ascii"))


def cmd_deserialize(args):
    """Reads the topic read_committed until --count records are in and every
    partition is at its end (or --timeout), values through AvroDeserializer:
    one JSON line per record, {"partition", "offset", "key", "schema_id",
    "value"} (key as UTF-8 text, value the deserializer's dict; a value it
    refuses is {"error": ...} instead)."""
    from confluent_kafka.schema_registry.avro import AvroDeserializer

    deserializer = AvroDeserializer(registry_client(args.registry))
    consumer, partitions = reader(args)
    at_end = {p: False for p in partitions}
    read = 0
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and not (read >= args.count and all(at_end.values())):
        message = consumer.poll(0.1)
        if message is None:
            continue
        if message.error() is not None:
            if message.error().code() == KafkaError._PARTITION_EOF:
                at_end[message.partition()] = True
                continue
            raise SystemExit(f"reading {args.topic}: {message.error()}")
        at_end[message.partition()] = False
        read += 1
        raw = message.value() or b""
        line = {
            "partition": message.partition(),
            "offset": message.offset(),
            "key": None if message.key() is None else message.key().decode("utf-8", "replace"),
            "schema_id": struct.unpack(">i", raw[1:5])[0] if len(raw) >= 5 and raw[0] == 0 else None,
        }
        try:
            context = SerializationContext(args.topic, MessageField.VALUE, message.headers())
            line["value"] = deserializer(message.value(), context)
        except Exception as error:  # the deserializer's own verdict
            line["error"] = f"{type(error).__name__}: {error}"
        print(json.dumps(line, ensure_ascii=False, default=str))
    consumer.close()


# ------------------------------------------------------------------- produce-referenced
# For tests/tests/typed_records_everywhere.rs: a schema with a reference.

CUSTOMER_SCHEMA = {
    "type": "record",
    "name": "Customer",
    "namespace": "shop.refs",
    "fields": [{"name": "id", "type": "string"}, {"name": "tier", "type": "int"}],
}
REFERRING_ORDER_SCHEMA = {
    "type": "record",
    "name": "Order",
    "namespace": "shop.refs",
    "fields": [{"name": "id", "type": "string"}, {"name": "customer", "type": "shop.refs.Customer"}],
}


def cmd_produce_referenced(args):
    """Registers Customer under <topic>-customer and Order, which names
    shop.refs.Customer, under <topic>-value with a reference to it; writes
    orders n (id "r-n", customer "c-n" of tier n%3) framed with Order's id.
    Prints {"customer_id", "order_id"}."""
    import fastavro
    from confluent_kafka.schema_registry import SchemaReference

    registry = registry_client(args.registry)
    customer_subject = f"{args.topic}-customer"
    customer_id = registry.register_schema(customer_subject, Schema(json.dumps(CUSTOMER_SCHEMA), "AVRO"))
    version = registry.lookup_schema(customer_subject, Schema(json.dumps(CUSTOMER_SCHEMA), "AVRO")).version
    reference = SchemaReference("shop.refs.Customer", customer_subject, version)
    order_id = registry.register_schema(
        f"{args.topic}-value", Schema(json.dumps(REFERRING_ORDER_SCHEMA), "AVRO", references=[reference])
    )
    named = {}
    fastavro.parse_schema(CUSTOMER_SCHEMA, named_schemas=named)
    parsed = fastavro.parse_schema(REFERRING_ORDER_SCHEMA, named_schemas=named)
    producer = new_producer(args.bootstrap)
    failures = []
    for n in range(args.count):
        body = io.BytesIO()
        fastavro.schemaless_writer(body, parsed, {"id": f"r-{n}", "customer": {"id": f"c-{n}", "tier": n % 3}})
        value = b"\0" + struct.pack(">I", order_id) + body.getvalue()
        send(producer, args.topic, f"r-{n}".encode(), value, lambda error, message: error and failures.append(str(error)))
    finish(producer, failures, f"producing {args.count} referring orders to {args.topic}")
    print(json.dumps({"customer_id": customer_id, "order_id": order_id}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub, topic=True):
        sub.add_argument("--bootstrap", required=True)
        sub.add_argument("--registry", required=True)
        if topic:
            sub.add_argument("--topic", required=True)

    formats = ["avro", "protobuf", "json-schema"]
    produce = commands.add_parser("produce")
    common(produce)
    produce.add_argument("--format", choices=formats, required=True)
    produce.add_argument("--count", type=int, required=True)
    produce.add_argument("--start", type=int, default=0)
    produce.add_argument("--schema", choices=["v1", "v2"], default="v1")
    produce.add_argument("--key", action="store_true", help="keys in the format too (else UTF-8 text c-<n%%40>)")
    produce.add_argument("--rate", type=float, default=0, help="records per second (0: as fast as it goes)")
    produce.set_defaults(run=cmd_produce)

    consume = commands.add_parser("consume")
    common(consume)
    consume.add_argument("--format", choices=formats, required=True)
    consume.add_argument("--expect-start", type=int, default=0)
    consume.add_argument("--expect-count", type=int, required=True)
    consume.add_argument(
        "--schema",
        choices=["v1", "v2", "v2-null"],
        default="v1",
        help="the shape records must have: v1 (no channel), v2, v2-null (channel null)",
    )
    consume.add_argument("--v2-from", type=int, help="records numbered from here have the v2 shape")
    consume.add_argument("--key", action="store_true", help="keys are in the format too")
    consume.add_argument("--timeout", type=float, default=60)
    consume.set_defaults(run=cmd_consume)

    raw = commands.add_parser("produce-raw")
    raw.add_argument("--bootstrap", required=True)
    raw.add_argument("--topic", required=True)
    raw.add_argument("--kind", choices=["no-magic", "unknown-id", "undecodable", "avro"], required=True)
    raw.add_argument("--schema-id", type=int, default=999999)
    raw.add_argument("--schema", choices=["v1", "v2"], default="v1", help="the Avro schema of --kind avro")
    raw.add_argument("--count", type=int, default=1)
    raw.add_argument("--start", type=int, default=0)
    raw.set_defaults(run=cmd_produce_raw)

    register = commands.add_parser("register")
    register.add_argument("--registry", required=True)
    register.add_argument("--subject", required=True)
    register.add_argument("--schema-file", required=True)
    register.add_argument("--type", choices=["AVRO", "PROTOBUF", "JSON"], default="AVRO")
    register.set_defaults(run=cmd_register)

    schema = commands.add_parser("schema")
    schema.add_argument("--format", choices=formats, required=True)
    schema.add_argument("--schema", choices=["v1", "v2"], default="v1")
    schema.set_defaults(run=cmd_schema)

    compatibility = commands.add_parser("compatibility")
    compatibility.add_argument("--registry", required=True)
    compatibility.add_argument("--subject", help="the subject's own setting (else the registry's)")
    compatibility.add_argument("--level", required=True)
    compatibility.set_defaults(run=cmd_compatibility)

    serialize = commands.add_parser("serialize")
    serialize.add_argument("--registry", required=True)
    serialize.add_argument("--topic", required=True, help="the subject is <topic>-value")
    serialize.add_argument("--n", type=int, help="the first order to serialize")
    serialize.add_argument("--count", type=int, default=1)
    serialize.add_argument("--schema", choices=["v1", "v2"], default="v1")
    serialize.add_argument("--records", help="a file of JSON objects, one a line (instead of --n)")
    serialize.add_argument("--schema-file", help="the Avro schema of --records")
    serialize.set_defaults(run=cmd_serialize)

    deserialize = commands.add_parser("deserialize")
    common(deserialize)
    deserialize.add_argument("--count", type=int, required=True)
    deserialize.add_argument("--timeout", type=float, default=60)
    deserialize.set_defaults(run=cmd_deserialize)

    referenced = commands.add_parser("produce-referenced")
    common(referenced)
    referenced.add_argument("--count", type=int, required=True)
    referenced.set_defaults(run=cmd_produce_referenced)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
