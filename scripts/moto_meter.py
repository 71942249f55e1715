"""What each caller asked of moto, in the units AWS bills: DynamoDB read and write request units
(on-demand), SQS requests in 64 KB chunks, DynamoDB Streams requests. `scripts/moto_patches.py`
installs it; `GET /_meter` answers the totals as JSON (the local gateway's `/_local/usage` reads
it, docs/DEPLOY.md "What a campaign costs" prices it).

Requests are always counted; DynamoDB's request units only while `POST /_meter {"units": true}`
turned them on (`"units"` in the answer says which; the cost benchmark turns them on through
`POST /_local/usage`). Sizing every item before and after each write was a fifth of moto's CPU
under load, paid by every `make dev` and test run that never reads it (issue 19).

Who asked: the `x-local-caller` header, which the local gateway's SDK HTTP client sets on every
request (`fn:<function>` inside a handler invocation, `esm:<function>` for the event-source
mapping pollers it emulates, `gateway` for its own set-up calls); requests without it (a test's
or the load generator's own reads) are `other`. Nothing here changes a request or an answer.

Units, from the on-demand pricing page's definitions (aws.amazon.com/dynamodb/pricing/on-demand/):

- Item size: moto's `Item.size()` (attribute names + values; numbers as their decimal digits),
  the item as stored, never the projection a request asked for.
- GetItem (and each key of a BatchGetItem): ceil(size / 4 KB) read units (1 for a missing item), half for an eventually
  consistent read. Query: ceil(sum of the items read / 4 KB), half unless `ConsistentRead`
  (a GSI query is always eventually consistent; its items are the index's projection). The
  application uses no filter expression, so every item read is returned and counted here.
- PutItem, UpdateItem, DeleteItem (also as parts of BatchWriteItem): ceil(max(size before,
  size after) / 1 KB) write units, at least 1, also when the condition fails. Each global
  secondary index the write touches costs its own writes: an index entry put, deleted, or
  rewritten because a projected attribute changed is ceil(projected size / 1 KB); an index key
  change is a delete plus a put.
- TransactWriteItems: every action (Put, Update, Delete, ConditionCheck) as its single-item
  write, times 2; a cancelled transaction is counted as if it had run (an upper bound). Index
  writes are not doubled.
- SQS: each request is max(1, ceil(max(request, answer body) / 64 KiB)) billed requests (the
  JSON envelope is counted with the payload: an upper bound); a ReceiveMessage that returned no
  message is counted apart (empty receive).

Invariants: the write metering runs inside the backend's write lock, so the before and after
images are those of this write; a read or write is metered only by the wrapper of the
operation the request named (moto's own internal `get_item` calls, e.g. before a PutItem, are
not reads).
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import math
import threading
import time

KB = 1024
SQS_CHUNK = 64 * 1024

_local = threading.local()
_totals_lock = threading.Lock()
_totals: dict[tuple[str, str, str, str], dict[str, float]] = {}
_backends: list = []
_started = time.time()
# DynamoDB request units are metered only while this is on (POST /_meter {"units": true}).
_units_on = False


def _req():
    """The request being metered, when DynamoDB's request units are on; else None."""
    return getattr(_local, "req", None) if _units_on else None


def _add(service: str, op: str, table: str, **values: float) -> None:
    req = getattr(_local, "req", None)
    caller = req["caller"] if req else "other"
    key = (caller, service, op, table)
    with _totals_lock:
        row = _totals.setdefault(key, {})
        for k, v in values.items():
            row[k] = row.get(k, 0) + v


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


# --- DynamoDB ---------------------------------------------------------------------------------


def key_of(table, attrs: dict):
    """The (hash, range) key of `table` in an item's or a request key's attributes (range None
    for a hash-only table); KeyError when one is missing."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(attrs[table.hash_key_attr])
    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _image(table, key):
    """The item's size and, per GSI, its index entry (key, projected size, projected JSON) or
    None: what a write changes, taken before and after it."""
    if key is None:
        return None
    item = table.get_item(*key)
    if item is None:
        return None
    entries = {}
    for index in table.global_indexes or []:
        if not all(a in item.attrs for a in index.schema_key_attrs):
            entries[index.name] = None
            continue
        projected = index.project(item)
        entries[index.name] = (
            tuple(json.dumps(item.attrs[a].to_json(), sort_keys=True) for a in index.schema_key_attrs),
            projected.size(),
            json.dumps(projected.to_json(), sort_keys=True),
        )
    return {"size": item.size(), "index": entries}


def _write_units(table, before, after) -> tuple[int, int]:
    """(table write units, index write units) of one single-item write."""
    size = max(before["size"] if before else 0, after["size"] if after else 0)
    base = _units(size, KB)
    index_units = 0
    for index in table.global_indexes or []:
        b = before["index"].get(index.name) if before else None
        a = after["index"].get(index.name) if after else None
        if b is None and a is None:
            continue
        if b is None:
            index_units += _units(a[1], KB)
        elif a is None:
            index_units += _units(b[1], KB)
        elif b[0] != a[0]:
            index_units += _units(b[1], KB) + _units(a[1], KB)
        elif b[2] != a[2]:
            index_units += _units(max(a[1], b[1]), KB)
    return base, index_units


def _metered_write(op_names: tuple[str, ...], key_of_call):
    """Wraps a backend write (put_item, update_item, delete_item): meters it when the request is
    one of `op_names` and no transaction is metering it already."""

    def wrap(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            req = _req()
            if req is None or req["op"] not in op_names or req.get("in_transaction"):
                return method(self, *args, **kwargs)
            bound = signature.bind(self, *args, **kwargs).arguments
            table = self.get_table(bound["table_name"])
            _remember(self)
            key = key_of_call(table, bound)
            before = _image(table, key)
            try:
                return method(self, *args, **kwargs)
            finally:
                after = _image(table, key)
                base, index = _write_units(table, before, after)
                _add("dynamodb", req["op"], table.name, requests=0, items=1, wru=base, indexWru=index)

        return wrapper

    return wrap


def _transact_write(method):
    @functools.wraps(method)
    def wrapper(self, transact_items, *args, **kwargs):
        req = _req()
        if req is None or req["op"] != "TransactWriteItems":
            return method(self, transact_items, *args, **kwargs)
        _remember(self)
        touched = []
        for action in transact_items:
            kind, body = next(iter(action.items()))
            table = self.get_table(body["TableName"])
            attrs = body.get("Item") if kind == "Put" else body.get("Key")
            key = key_of(table, attrs)
            touched.append((kind, table, key, _image(table, key)))
        req["in_transaction"] = True
        try:
            return method(self, transact_items, *args, **kwargs)
        finally:
            req["in_transaction"] = False
            for kind, table, key, before in touched:
                after = before if kind == "ConditionCheck" else _image(table, key)
                base, index = _write_units(table, before, after)
                if kind == "ConditionCheck":
                    index = 0
                _add("dynamodb", f"TransactWriteItems.{kind}", table.name, items=1, wru=2 * base, indexWru=index)

    return wrapper


def _get_item(method):
    @functools.wraps(method)
    def wrapper(self, table_name, keys, projection_expressions=None, *args, **kwargs):
        req = _req()
        if req is None or req["op"] not in ("GetItem", "BatchGetItem"):
            return method(self, table_name, keys, projection_expressions, *args, **kwargs)
        _remember(self)
        item = method(self, table_name, keys, None, *args, **kwargs)
        size = item.size() if item is not None else 0
        body = req["body"]
        if req["op"] == "BatchGetItem":
            body = (body.get("RequestItems") or {}).get(table_name) or {}
        consistent = bool(body.get("ConsistentRead"))
        units = _units(size, 4 * KB) * (1 if consistent else 0.5)
        _add("dynamodb", req["op"], table_name, items=1 if item is not None else 0, rru=units, bytes=size)
        if item is not None and projection_expressions:
            item = item.project(projection_expressions)
        return item

    return wrapper


def _query(method):
    """Wraps `Table.query`: the items as read (before the request's projection) give the units;
    the projection is then applied as moto would."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        req = _req()
        if req is None or req["op"] != "Query":
            return method(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        projection = bound.arguments.get("projection_expressions")
        bound.arguments["projection_expressions"] = None
        results, scanned, last = method(*bound.args, **bound.kwargs)
        size = sum(r.size() for r in results)
        index = bound.arguments.get("index_name")
        consistent = bool(req["body"].get("ConsistentRead")) and not index
        units = _units(size, 4 * KB) * (1 if consistent else 0.5)
        name = f"{self.name}/{index}" if index else self.name
        _add("dynamodb", "Query", name, items=len(results), rru=units, bytes=size)
        if projection:
            results = [r.project(projection) for r in results]
        return results, scanned, last

    return wrapper


def _remember(backend) -> None:
    if not any(b is backend for b in _backends):
        _backends.append(backend)


def install_dynamodb() -> None:
    """Wraps the backend's data-plane methods; call before they are serialized (moto_server)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    def from_item(table, bound):
        return key_of(table, bound["item_attrs"])

    def from_key(table, bound):
        return key_of(table, bound["key"])

    DynamoDBBackend.put_item = _metered_write(("PutItem", "BatchWriteItem"), from_item)(DynamoDBBackend.put_item)
    DynamoDBBackend.update_item = _metered_write(("UpdateItem",), from_key)(DynamoDBBackend.update_item)
    DynamoDBBackend.delete_item = _metered_write(("DeleteItem", "BatchWriteItem"), from_key)(
        DynamoDBBackend.delete_item
    )
    DynamoDBBackend.transact_write_items = _transact_write(DynamoDBBackend.transact_write_items)
    DynamoDBBackend.get_item = _get_item(DynamoDBBackend.get_item)
    Table.query = _query(Table.query)


def _storage() -> dict:
    """Bytes stored per table (item size + DynamoDB's 100 bytes of overhead per item) and per
    GSI (projected size + 100 bytes per entry), as DynamoDB bills storage."""
    out = {}
    for backend in _backends:
        for name, table in list(backend.tables.items()):
            items = list(table.all_items())
            row = {"items": len(items), "bytes": sum(i.size() + 100 for i in items), "indexes": {}}
            for index in table.global_indexes or []:
                entries = [index.project(i) for i in items if all(a in i.attrs for a in index.schema_key_attrs)]
                row["indexes"][index.name] = {
                    "items": len(entries),
                    "bytes": sum(e.size() + 100 for e in entries),
                }
            out[name] = row
    return out


# --- the WSGI layer ---------------------------------------------------------------------------


def _sqs_received(answer: bytes) -> int:
    try:
        return len(json.loads(answer or b"{}").get("Messages") or [])
    except ValueError:
        return 0


def _answer(start_response, status: str, body) -> list:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class Meter:
    """WSGI middleware: names the request for the backend wrappers, counts every request, and
    answers `GET /_meter`."""

    def __init__(self, app, lock):
        self.app = app
        self.lock = lock

    def report(self, start_response):
        with self.lock:
            storage = _storage()
        with _totals_lock:
            rows = [
                {"caller": c, "service": s, "op": o, "table": t, **v}
                for (c, s, o, t), v in sorted(_totals.items())
            ]
        body = {"since": _started, "at": time.time(), "units": _units_on, "rows": rows, "storage": storage}
        return _answer(start_response, "200 OK", body)

    def switch_units(self, environ, start_response):
        """`POST /_meter {"units": true|false}`: DynamoDB request units on or off."""
        global _units_on
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            units = json.loads(environ["wsgi.input"].read(length) if length else b"{}")["units"]
            if not isinstance(units, bool):
                raise TypeError(units)
        except (ValueError, KeyError, TypeError):
            return _answer(start_response, "400 Bad Request", {"error": 'expected {"units": true|false}'})
        _units_on = units
        return self.report(start_response)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_meter":
            if environ.get("REQUEST_METHOD") == "POST":
                return self.switch_units(environ, start_response)
            return self.report(start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target:
            return self.app(environ, start_response)
        prefix, _, op = target.partition(".")
        service = (
            "streams" if prefix.startswith("DynamoDBStreams") else "dynamodb" if prefix.startswith("DynamoDB") else "sqs"
        )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        req = {"caller": environ.get("HTTP_X_LOCAL_CALLER", "other"), "op": op, "body": body}
        _local.req = req
        result = None
        try:
            result = self.app(environ, start_response)
            answer = b"".join(result)
        finally:
            _local.req = None
            if hasattr(result, "close"):
                result.close()
        table = body.get("TableName") or body.get("QueueUrl", "").rsplit("/", 1)[-1] or ""
        _local.req = req
        try:
            if service == "sqs":
                chunks = _units(max(len(raw), len(answer)), SQS_CHUNK)
                extra = {}
                if op == "ReceiveMessage":
                    got = _sqs_received(answer)
                    extra = {"messages": got, "emptyReceives": 1 if got == 0 else 0}
                _add("sqs", op, table, requests=1, billed=chunks, **extra)
            else:
                _add(service, op, table, requests=1)
        finally:
            _local.req = None
        return [answer]
