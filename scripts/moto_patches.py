"""moto's backends patched for the local stack; importing this module applies every patch
(scripts/moto_server.py imports it first). Each patch says what moto does, why it matters here
and what it does instead; docs/DECISIONS.md 35 and 43 and docs/LOCAL_SPEED.md have the
measurements; `moto_server.py --self-test` (scripts/moto_selftest.py) checks them.

- Atomic DynamoDB writes. moto serves requests on several threads and its DynamoDB backend checks
  a condition and then writes without a lock, so two concurrent conditional writes to one item can
  both succeed (a lost update real DynamoDB never allows: its writes to one item are serialized).
  Every DynamoDB write (and the consistent read, so it never sees half a transaction) takes one
  process-wide lock (`LOCK`).
- Cancelled transactions keep the stream (`_stream_keeping_transactions`) and back up only the
  items they name (`_transactions_back_up_touched_items`).
- Queries read their key's items, not a sorted copy of the table (`_queries_read_only_their_keys`).
- SQS queues change under their own lock (`_atomic_sqs_queues`), and a receive no longer
  recounts the whole queue for every message it returns (`_sqs_receives_without_recounts`).
- No instance tracking (`_no_instance_tracking`): moto keeps every model object it ever made for
  its dashboard, backups of transactions included, so memory grew without bound.
- Expressions parsed once (`scripts/moto_expressions.py`): a quarter of moto's DynamoDB CPU
  under load was spent parsing the same condition and update expressions twice per request and
  deep-copying their trees.
- Items built and written out in linear time (`scripts/moto_items.py`).
- Metering (`scripts/moto_meter.py`), installed inside the write lock.
- Answers: only an XML answer is searched for its request id element
  (`_answers_searched_for_xml_only`).
- Routing: moto's dispatcher lists its own package directory on disk (about 200 `isdir` calls)
  for every request, under a process-wide lock; the list is read once here. It also lists a
  handler class's methods (`inspect.getmembers`, 3.5 % of moto's CPU under load) to find the
  action of every request: once per class here.
"""

import copy
import functools
import secrets
import threading

import moto_expressions
import moto_items
import moto_meter
from moto import backends
from moto.core import responses as _responses
from moto.dynamodb.models import DynamoDBBackend

LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with LOCK:
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
            hash_value, range_value = moto_meter.key_of(table, attrs)
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


def _sqs_receives_without_recounts():
    """A receive must not cost the queue's length for every message it returns. moto checks each
    received message's retention through `get_queue_attributes`, which builds every attribute of
    the queue, the approximate message counts among them (three passes over every message, two
    clock reads per message each): with a backlog of 700 phase-work messages this was 84 % of the
    SQS process's CPU under the 50-wizard load (issue #19). The retention check reads the queue's
    retention period; a message's visibility and delay read the clock as `time.time()` (what
    moto's `unix_time_millis()` computes through two datetimes)."""
    import time

    from moto.sqs import models as sqs_models
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > time.time()

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    assert sqs_models.unix_time_millis() - time.time() * 1000 < 1000, "moto's clock is not the wall clock"
    Message.visible = property(lambda self: time.time() * 1000 > self.visible_at)
    Message.delayed = property(lambda self: time.time() * 1000 < self.delayed_until)


_sqs_receives_without_recounts()

moto_expressions.install()
moto_items.install()

# What each caller asked, in billed units (GET /_meter): metered inside the write lock below.
moto_meter.install_dynamodb()

for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

# moto's modules do not change while it runs: list them once, not on every request.
_MODULES = frozenset(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _MODULES


def _answers_searched_for_xml_only():
    """moto writes the request id into every answer's body with a regex over the whole body
    (`<RequestId>…</RequestId>`, the XML protocols' element): 2.4 % of moto's DynamoDB CPU under
    the 50-wizard load went to searching JSON answers, which never hold it, item by item. The
    search runs only over a body that has the element; the headers (status, request id) are set
    as before, the id (52 characters, as AWS's) drawn at once."""
    enrich = _responses.BaseResponse._enrich_response

    def request_id(headerdict=None):
        req_id = secrets.token_hex(26).upper()
        if isinstance(headerdict, dict):
            headerdict["x-amzn-requestid"] = req_id
        return req_id

    # moto draws each of the id's 52 characters with `random.choice` (3 % of its CPU).
    _responses.gen_amzn_requestid_long = request_id

    def _enrich_response(headers, body):
        if isinstance(body, str) and "<RequestId>" not in body:
            headers, _ = enrich(headers, "")
            return headers, body
        return enrich(headers, body)

    _responses.BaseResponse._enrich_response = staticmethod(_enrich_response)


_answers_searched_for_xml_only()

# The handler classes do not change either: their method names, once per class.
_responses.method_names_from_class = functools.lru_cache(maxsize=None)(_responses.method_names_from_class)
