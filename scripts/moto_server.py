"""Serves moto for the local stack: moto's backends patched (scripts/moto_patches.py: atomic
DynamoDB writes, transactions and queries whose cost does not grow with the tables, thread-safe SQS
queues, metering), kept-alive connections, no per-request log line, bounded stream iterators.

usage: moto_server.py -H HOST -p PORT [--threads N] [--werkzeug] [--iterator-lifetime SECONDS]
       moto_server.py --self-test

What it changes against moto's own `moto_server` CLI, and why (docs/LOCAL_SPEED.md has the
measurements):

- The backends: scripts/moto_patches.py (imported first).
- The HTTP server. moto's CLI runs werkzeug's development server, which answers every request
  with `Connection: close` (a new TCP connection and a new thread per request) and logs a line
  per request. This serves moto's same WSGI application with waitress: HTTP/1.1 keep-alive, a
  fixed pool of `--threads` workers (more than the long polls that can wait at once: the local
  gateway keeps up to 5 per queue, 14 in all), no access log. `--werkzeug` runs moto's CLI as
  before (for comparisons).
- JSON answers and requests. moto 5.2 writes every answer with a serializer driven by the
  botocore model, which walks every attribute of every item: DynamoDB's data-plane answers and
  `GetRecords` are written with `json.dumps` instead (same bytes once parsed), and its data-plane
  requests without binary values read with `json.loads` (`--slow-json` keeps moto's for both).
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
import datetime
import json
import os
import sys
import time
from collections import OrderedDict

import moto_meter
from moto_patches import LOCK

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


def _fast_requests():
    """DynamoDB's data-plane requests read with `json.loads` instead of moto 5.2's model-driven
    parser, which walks every attribute of every item through the botocore model (10 % of moto's
    CPU under the 50-wizard load, issue 19). For these operations the two agree on every request
    without binary values (the model decodes a `B`/`BS` value's base64; checked request by request
    on a load run, and by the self-test): those, and every other operation, keep moto's parser."""
    from moto.dynamodb.responses import DynamoHandler

    parse_parameters = DynamoHandler.parse_parameters

    def fast_parse_parameters(self, request):
        body = request.data
        if self._get_action() in FAST_DYNAMODB and b'"B"' not in body and b'"BS"' not in body:
            self.params = json.loads(body or b"{}")
        else:
            parse_parameters(self, request)

    DynamoHandler.parse_parameters = fast_parse_parameters


def _dispatcher():
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def _direct(app):
    """WSGI: DynamoDB, DynamoDB Streams and SQS JSON requests (`POST /` with their
    `X-Amz-Target`) handed to moto's handler as moto's Flask view hands them
    (`convert_to_flask_response`: the same request class, URL and headers, the same answer),
    without the domain dispatcher and Flask's request cycle around it: 12 % of moto's DynamoDB
    CPU under the 50-wizard load. Everything else (SQS's query protocol, a queue URL path, moto's
    own API) goes through `app` as before. No CORS headers on these answers: no browser talks to
    moto."""
    from botocore.exceptions import ClientError
    from moto.core.utils import normalize_request
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.moto_api import recorder
    from moto.moto_server.werkzeug_app import BackendRequest
    from moto.sqs.responses import SQSResponse
    from werkzeug.wrappers import Response

    handlers = {
        "DynamoDB_20120810": DynamoHandler.dispatch,
        "DynamoDBStreams_20120810": DynamoDBStreamsHandler.dispatch,
        "AmazonSQS": SQSResponse.dispatch,
    }

    def direct(environ, start_response):
        dispatch = handlers.get(environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[0])
        if dispatch is None or environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in ("", "/"):
            return app(environ, start_response)
        request = normalize_request(BackendRequest(environ))
        recorder._record_request(request)
        try:
            result = dispatch(request, request.raw_url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        return Response(response=content, status=status, headers=headers)(environ, start_response)

    return direct


def main(argv):
    if argv == ["--self-test"]:
        # In-process moto: boto3 must not be sent to the stack's endpoints (scripts/lib.sh).
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[name]
        import moto_selftest

        moto_selftest.run()
        return
    global ITERATOR_LIFETIME_SECONDS
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--werkzeug", action="store_true", help="moto's own CLI (werkzeug)")
    parser.add_argument("--slow-json", action="store_true", help="moto's own serializer and request parser")
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
        _fast_requests()
    if args.werkzeug:
        from moto.server import main as moto_main

        moto_main(["-H", args.host, "-p", str(args.port)])
        return
    import logging

    import waitress

    # Errors (a handler's traceback) still go to the log; there is no line per request.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # waitress warns each time a request waits for a free thread ("Task queue depth is N"):
    # 2,600–3,400 lines per 50-wizard run, burying the errors this log is read for. A busy
    # moto is measured by the benchmarks, not logged.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(
        moto_meter.Meter(_direct(_dispatcher()), LOCK),
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

