"""Serves moto for the local stack: atomic DynamoDB writes, kept-alive connections, no per-request
log line, bounded stream iterators.

usage: moto_server.py -H HOST -p PORT [--threads N] [--werkzeug] [--iterator-lifetime SECONDS]
       moto_server.py --self-test

What it changes against moto's own `moto_server` CLI, and why (docs/LOCAL_SPEED.md has the
measurements):

- Atomic DynamoDB writes. moto serves requests on several threads and its DynamoDB backend checks
  a condition and then writes without a lock, so two concurrent conditional writes to one item can
  both succeed (a lost update real DynamoDB never allows: its writes to one item are serialized).
  Every DynamoDB write (and the consistent read, so it never sees half a transaction) takes one
  process-wide lock.
- The HTTP server. moto's CLI runs werkzeug's development server, which answers every request
  with `Connection: close` (a new TCP connection and a new thread per request) and logs a line
  per request. This serves moto's same WSGI application with waitress: HTTP/1.1 keep-alive, a
  fixed pool of `--threads` workers (more than the long polls that can wait at once: the local
  gateway keeps up to 5 per queue, 14 in all), no access log. `--werkzeug` runs moto's CLI as before (for
  comparisons).
- Routing. moto's dispatcher lists its own package directory on disk (about 200 `isdir` calls)
  for every request, under a process-wide lock; the list is read once here.
- JSON answers. moto 5.2 writes every answer with a serializer driven by the botocore model,
  which walks every attribute of every item: DynamoDB's data-plane answers and `GetRecords` are
  written with `json.dumps` instead (same bytes once parsed; `--slow-json` keeps moto's).
- Cancelled transactions keep the stream (`_stream_keeping_transactions`).
- No instance tracking (`_no_instance_tracking`): moto keeps every model object it ever made for
  its dashboard, backups of transactions included, so memory grew without bound.
- Metering (`scripts/moto_meter.py`): what each caller asked, in the units AWS bills, on
  `GET /_meter` (the cost model of docs/DEPLOY.md). Not with `--werkzeug`.
- Stream iterators. Every `GetRecords` stores a new shard iterator in a dict that is never
  pruned, so a stream poller grows moto by ~1 KB a call forever. Iterators older than 15 minutes
  (DynamoDB Streams' own iterator lifetime) are dropped; using one answers
  `ExpiredIteratorException` as DynamoDB Streams does.

The local stack runs two of these (scripts/stack.sh): DynamoDB + DynamoDB Streams in one (Streams
reads DynamoDB's tables in memory), SQS in the other, so the two work on both cores instead of
sharing one interpreter lock.
"""

import argparse
import base64
import copy
import datetime
import functools
import json
import os
import sys
import threading
import time
from collections import OrderedDict

import moto_meter
from moto import backends
from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


def _stream_keeping_transactions():
    """A cancelled transaction must not cut the stream, nor copy it. moto backs up every table of
    a transaction with `copy.deepcopy` and, when the transaction is cancelled, puts the copies in
    place of the tables. The copy included the table's stream shard — every record ever written
    (so each transaction got slower as the stream grew) — and every shard iterator handed out
    before kept reading the old shard object, which receives no record again (the local stack's
    stream consumers went silent after the first refused start or lost conditional write). Here
    the shard is not copied (the backup shares the live one), and after a cancelled transaction
    it loses the records the cancelled writes appended (DynamoDB Streams never shows them).
    tests/tests/quotas.rs checks it through the stack."""
    from moto.dynamodb.models.table import StreamShard

    StreamShard.__deepcopy__ = lambda self, memo: self
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        before = {
            name: (table.stream_shard, len(table.stream_shard.items))
            for name, table in self.tables.items()
            if getattr(table, "stream_shard", None) is not None
        }
        try:
            return original(self, transact_items)
        except Exception:
            for name, (shard, count) in before.items():
                del shard.items[count:]
                restored = self.tables.get(name)
                if restored is not None:
                    shard.table = restored
            raise

    DynamoDBBackend.transact_write_items = transact_write_items
    # A cancelled transaction's records are on the shard from its writes until the rollback above:
    # GetRecords takes the write lock, so no reader hands them on in between.
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    DynamoDBStreamsBackend.get_records = _serialized(DynamoDBStreamsBackend.get_records)


_stream_keeping_transactions()


def _transactions_back_up_touched_items():
    """A transaction backs up the items it names, not whole tables. moto's `transact_write_items`
    deep-copies every table a transaction names before it starts (its rollback puts the copies
    back), so one transaction cost time in proportion to everything stored: with the campaigns
    table at a few thousand items a two-item transaction took ~20 ms and more, and under the
    50-wizard load moto's DynamoDB process spent its core copying tables (issue #19, decision
    43). Here the table copy is the live table (the rollback's put-back is a no-op) and the
    items the transaction names are deep-copied instead, then put back in reverse order when it
    is cancelled; the stream records it appended are cut by `_stream_keeping_transactions`.
    Runs under the write lock, as every DynamoDB write here (the lock also keeps the table's
    `__deepcopy__` swap private to the transaction: moto's backups, the only other table copy,
    are not used by the stack). A key that cannot be read from the request (a malformed one,
    which moto answers with a validation error) falls back to moto's whole-table copy.
    `--self-test` checks both outcomes."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    def live(self, memo):
        return self

    def back_up(backend, transact_items):
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op["Item"] if "Item" in op else op["Key"]
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                range_value = DynamoType(attrs[table.range_key_attr])
            current = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        return saved

    def put_back(saved):
        for table, hash_value, range_value, item in reversed(saved):
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            elif item is not None:
                table.items[hash_value][range_value] = item
            else:
                bucket = table.items.get(hash_value)
                if bucket is not None:
                    bucket.pop(range_value, None)
                    if not bucket:
                        table.items.pop(hash_value, None)

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        try:
            saved = back_up(self, transact_items)
        except (KeyError, TypeError, AttributeError, StopIteration):
            return original(self, transact_items)
        Table.__deepcopy__ = live
        try:
            return original(self, transact_items)
        except Exception:
            put_back(saved)
            raise
        finally:
            del Table.__deepcopy__

    DynamoDBBackend.transact_write_items = transact_write_items


_transactions_back_up_touched_items()


def _no_instance_tracking():
    """moto keeps every model instance it ever created (`instances_tracked`, for its dashboard's
    data): every item version, stream record and shard iterator, and every table and item a
    transaction deep-copied as its backup. Memory grew with the square of the transactions (600
    one-item transactions: 518 MB; a 200-campaign chaos run: 10 GB and rising). The dashboard's
    data is not used here."""
    from moto.core.common_models import BaseModel

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    BaseModel.__new__ = __new__


_no_instance_tracking()

def _queries_read_only_their_keys():
    """A query reads the items of its key, not a sorted copy of the table. moto's `Table.query`
    starts from `all_items()`, which lists every item of the table and sorts them all by key
    (Python comparisons of `DynamoType`s), then keeps the query's matches and sorts those again.
    Under the 50-wizard load that was 60 % of the DynamoDB process's CPU (py-spy, GIL samples):
    the listings by owner, the subscription lookups and the sweeper's shard queries each sorted
    the whole campaigns or connections table (issue #19, decision 43). While a query runs on this
    thread, `all_items()` of its table answers the key's own items (a table query: one hash key's
    bucket) or every item unsorted, without the items whose string hash-key attributes differ
    (an index query); moto's own matching and final sort still run on them, so answers and order
    are as before. `--self-test` compares answers against expected ones."""
    from moto.dynamodb.models.table import Table

    sorted_items = Table.all_items
    reading = threading.local()

    def all_items(self):
        query = getattr(reading, "query", None)
        if query is None or query[0] is not self:
            return sorted_items(self)
        _, hash_key, conditions = query
        ranged = self.range_key_attr is not None
        if hash_key is not None:
            bucket = self.items.get(hash_key)
            if bucket is None:
                return []
            return list(bucket.values()) if ranged else [bucket]
        items = []
        for bucket in list(self.items.values()):
            items.extend(list(bucket.values()) if ranged else (bucket,))
        for name, value in conditions:
            items = [i for i in items if (v := i.attrs.get(name)) is not None and v.type == "S" and v.value == value]
        return items

    query = Table.query

    def query_reading_keys(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                           scan_index_forward, projection_expressions, index_name=None, *args, **kwargs):
        if index_name:
            conditions = [(n, v.value) for n, v in kwargs.get("hash_key_conditions") or [] if v.type == "S"]
            reading.query = (self, None, conditions)
        else:
            reading.query = (self, hash_key, [])
        try:
            return query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                         scan_index_forward, projection_expressions, index_name, *args, **kwargs)
        finally:
            reading.query = None

    Table.all_items = all_items
    Table.query = query_reading_keys


_queries_read_only_their_keys()


def _atomic_sqs_queues():
    """One queue's messages change under one lock. moto's SQS backend is not thread-safe while
    the server answers on many threads: `delete_message` rebuilds the queue's message list
    without the lock `add_message` appends under, so a message sent during a delete was lost and
    two concurrent deletes brought one deleted message back (in flight until its visibility
    timeout, then delivered again); two receivers could take the same message, and a receive
    could fail with "Set changed size during iteration" (HTTP 500). Found by the 50-wizard load
    (one phase-work message left in flight after every campaign completed; issue #19, decision
    43). Receive, delete and visibility changes hold the queue's own condition lock (reentrant;
    a long poll's wait releases it); `--self-test` runs senders and consumers on threads."""
    from moto.sqs.models import Queue, SQSBackend

    def locked_queue(method):
        @functools.wraps(method)
        def wrapper(self, queue_name, *args, **kwargs):
            with self.get_queue(queue_name)._messages_lock:
                return method(self, queue_name, *args, **kwargs)

        return wrapper

    for name in ("receive_message", "delete_message", "change_message_visibility"):
        setattr(SQSBackend, name, locked_queue(getattr(SQSBackend, name)))
    delete = Queue.delete_message

    def delete_message(self, receipt_handle):
        with self._messages_lock:
            return delete(self, receipt_handle)

    Queue.delete_message = delete_message


_atomic_sqs_queues()

# What each caller asked, in billed units (GET /_meter): metered inside the write lock below.
moto_meter.install_dynamodb()

for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

# moto's modules do not change while it runs: list them once, not on every request.
_MODULES = frozenset(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _MODULES

ITERATOR_LIFETIME_SECONDS = 15 * 60


def _bound_stream_iterators():
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    class ExpiredIteratorException(JsonRESTError):
        code = 400

        def __init__(self) -> None:
            super().__init__("ExpiredIteratorException", "Iterator expired")

    class Iterators(OrderedDict):
        """Shard iterators by ARN, oldest first, dropped after ITERATOR_LIFETIME_SECONDS."""

        def __setitem__(self, key, value):
            now = time.monotonic()
            super().__setitem__(key, (now, value))
            while self:
                first = next(iter(self))
                if now - OrderedDict.__getitem__(self, first)[0] <= ITERATOR_LIFETIME_SECONDS:
                    break
                OrderedDict.__delitem__(self, first)

        def __getitem__(self, key):
            if not OrderedDict.__contains__(self, key):
                raise ExpiredIteratorException()
            return OrderedDict.__getitem__(self, key)[1]

    original_init = DynamoDBStreamsBackend.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.shard_iterators = Iterators()

    DynamoDBStreamsBackend.__init__ = init


def _wire(value):
    """JSON for what moto's results hold besides plain JSON: timestamps and binary values."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} in a DynamoDB answer")


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


# The data-plane operations whose answers are written with json.dumps (see _fast_json).
FAST_DYNAMODB = frozenset(
    (
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    )
)


def _fast_json():
    """DynamoDB's data-plane answers and `GetRecords` written with `json.dumps` of moto's result
    (items are already in the wire's attribute-value form) instead of moto's model-driven
    serializer, which walks every attribute of every item and image and is most of what those
    calls cost. Errors and every other operation keep moto's serializer."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    from moto.core.utils import get_service_model

    content_type = "application/x-amz-json-1.0"
    serialized = DynamoHandler.serialized
    model = get_service_model("dynamodb")
    # The members each answer may carry (moto's results hold a few more, e.g. DeleteItem's
    # ConsumedCapacityUnits, which its serializer leaves out).
    members = {op: frozenset(model.operation_model(op).output_shape.members) for op in FAST_DYNAMODB}

    def fast_serialized(self, action_result):
        result = action_result.result
        action = self._get_action()
        if isinstance(result, dict) and action in FAST_DYNAMODB:
            known = {k: v for k, v in result.items() if k in members[action]}
            headers = {"Content-Type": content_type}
            headers.update(self.response_headers)
            return 200, headers, json.dumps(_without_none(known), default=_wire)
        return serialized(self, action_result)

    def get_records(self):
        iterator = self._get_param("ShardIterator")
        limit = self._get_param("Limit") or 1000
        result = self.backend.get_records(iterator, limit)
        return json.dumps(result, default=_wire), {"Content-Type": content_type}

    DynamoHandler.serialized = fast_serialized
    DynamoDBStreamsHandler.get_records = get_records


def _dispatcher():
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def _self_test():
    """The transaction patch, in-process: a cancelled transaction leaves the items it named, the
    table objects and the stream as they were; a committed one writes. Exit status 1 on a miss."""
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    def s(value):
        return {"S": value}

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        ddb.create_table(
            TableName="ranged",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification=stream,
        )
        ddb.create_table(
            TableName="hashed",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification=stream,
        )
        ddb.put_item(TableName="ranged", Item={"pk": s("p"), "sk": s("a"), "v": s("1")})
        ddb.put_item(TableName="hashed", Item={"id": s("x"), "v": s("1")})
        tables = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables
        before = {name: (table, len(table.stream_shard.items)) for name, table in tables.items()}
        update = {
            "TableName": "ranged",
            "Key": {"pk": s("p"), "sk": s("a")},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": s("2")},
        }
        new_item = {"TableName": "ranged", "Item": {"pk": s("p"), "sk": s("b"), "v": s("1")}}
        delete = {"TableName": "hashed", "Key": {"id": s("x")}}
        refused = {"TableName": "hashed", "Key": {"id": s("y")}, "ConditionExpression": "attribute_exists(id)"}
        try:
            ddb.transact_write_items(
                TransactItems=[{"Update": update}, {"Put": new_item}, {"Delete": delete}, {"ConditionCheck": refused}]
            )
            failures = ["the transaction with a failing condition was not cancelled"]
        except ddb.exceptions.TransactionCanceledException:
            failures = []

        def get(table, key):
            return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

        if get("ranged", {"pk": s("p"), "sk": s("a")}) != {"pk": s("p"), "sk": s("a"), "v": s("1")}:
            failures.append("the updated item was not put back")
        if get("ranged", {"pk": s("p"), "sk": s("b")}) is not None:
            failures.append("the put item was not taken out")
        if get("hashed", {"id": s("x")}) is None:
            failures.append("the deleted item was not put back")
        for name, (table, records) in before.items():
            if tables[name] is not table:
                failures.append(f"{name}: the table object was replaced (a whole-table copy)")
            if len(tables[name].stream_shard.items) != records:
                failures.append(f"{name}: the stream kept a cancelled write")
        ddb.transact_write_items(TransactItems=[{"Update": update}, {"Put": new_item}, {"Delete": delete}])
        if get("ranged", {"pk": s("p"), "sk": s("a")})["v"] != s("2") or get("ranged", {"pk": s("p"), "sk": s("b")}) is None:
            failures.append("a committed transaction did not write")
        if get("hashed", {"id": s("x")}) is not None:
            failures.append("a committed transaction did not delete")
    failures += _query_self_test()
    failures += _sqs_self_test()
    for failure in failures:
        print(f"moto_server self-test: {failure}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print("moto_server self-test: transactions put back only what they named, queries read only their key, SQS queues take each message once")


def _query_self_test():
    """Table and index queries answer the items of their key, in key order, page by page."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    def s(value):
        return {"S": value}

    failures = []
    listed = []
    all_items = Table.all_items

    def counted(self):
        items = all_items(self)
        listed.append(len(items))
        return items

    Table.all_items = counted
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="listed",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "owner", "created")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byOwner",
                    "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}, {"AttributeName": "created", "KeyType": "RANGE"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(30):
            item = {"pk": s(f"p{i % 3}"), "sk": s(f"{29 - i:02d}")}
            if i % 5:
                item.update(owner=s(f"o{i % 2}"), created=s(f"{(i * 7) % 30:02d}"))
            ddb.put_item(TableName="listed", Item=item)
        listed.clear()

        def pages(**kwargs):
            out, start = [], {}
            while True:
                page = ddb.query(TableName="listed", Limit=4, **start, **kwargs)
                out += page["Items"]
                if "LastEvaluatedKey" not in page:
                    return out
                start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

        table = pages(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": s("p1")}, ScanIndexForward=False)
        expected = sorted((f"{29 - i:02d}" for i in range(30) if i % 3 == 1), reverse=True)
        if [i["sk"]["S"] for i in table] != expected:
            failures.append(f"table query: {[i['sk']['S'] for i in table]} != {expected}")
        index = pages(IndexName="byOwner", KeyConditionExpression="owner = :o AND created > :c",
                      ExpressionAttributeValues={":o": s("o1"), ":c": s("05")})
        expected = sorted(f"{(i * 7) % 30:02d}" for i in range(30) if i % 5 and i % 2 == 1 and f"{(i * 7) % 30:02d}" > "05")
        if [i["created"]["S"] for i in index] != expected:
            failures.append(f"index query: {[i['created']['S'] for i in index]} != {expected}")
        if max(listed, default=0) >= 30:
            failures.append(f"a query read the whole table (all_items answered {max(listed)} of 30 items)")
    Table.all_items = all_items
    return failures


def _sqs_self_test(senders=4, per_sender=300, consumers=4):
    """Senders and consumers (receive, then delete) on threads against one queue: every message
    is taken exactly once, none is lost, no call fails."""
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    with mock_aws():
        sqs = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        sqs.create_queue("race", VisibilityTimeout="300")
        taken, errors = [], []
        sent = threading.Event()

        def send(k):
            try:
                for i in range(per_sender):
                    sqs.send_message("race", f"{k}-{i}")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        def consume():
            try:
                while True:
                    messages = sqs.receive_message("race", 10, 0, 300)
                    if not messages and sent.is_set() and not sqs.get_queue("race")._messages:
                        return
                    for message in messages:
                        sqs.delete_message("race", message.receipt_handle)
                        taken.append(message.body)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=consume) for _ in range(consumers)]
        producers = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
        for thread in threads + producers:
            thread.start()
        for thread in producers:
            thread.join()
        sent.set()
        for thread in threads:
            thread.join(timeout=60)
    total = senders * per_sender
    failures = [f"SQS: a call failed: {e}" for e in errors[:3]]
    if len(set(taken)) != total:
        failures.append(f"SQS: {total - len(set(taken))} of {total} messages never taken")
    if len(taken) != len(set(taken)):
        failures.append(f"SQS: {len(taken) - len(set(taken))} messages taken twice")
    return failures


def main(argv):
    if argv == ["--self-test"]:
        # In-process moto: boto3 must not be sent to the stack's endpoints (scripts/lib.sh).
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[name]
        _self_test()
        return
    global ITERATOR_LIFETIME_SECONDS
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--werkzeug", action="store_true", help="moto's own CLI (werkzeug)")
    parser.add_argument("--slow-json", action="store_true", help="moto's own serializer only")
    parser.add_argument(
        "--iterator-lifetime",
        type=float,
        default=ITERATOR_LIFETIME_SECONDS,
        help="seconds a stream shard iterator stays valid (shorter: to test a consumer's expiry)",
    )
    args = parser.parse_args(argv)
    ITERATOR_LIFETIME_SECONDS = args.iterator_lifetime
    _bound_stream_iterators()
    if not args.slow_json:
        _fast_json()
    if args.werkzeug:
        from moto.server import main as moto_main

        moto_main(["-H", args.host, "-p", str(args.port)])
        return
    import logging

    import waitress

    # Errors (a handler's traceback) still go to the log; there is no line per request.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    waitress.serve(
        moto_meter.Meter(_dispatcher(), _LOCK),
        host=args.host,
        port=args.port,
        threads=args.threads,
        # The gateway and the benchmarks keep their connections open (an SDK client pools them).
        connection_limit=1000,
        ident="moto",
        _quiet=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
