"""`moto_server.py --self-test`: the patches of scripts/moto_patches.py against in-process moto.
Each check fails without its patch (a transaction's whole-table copy, a query's whole-table
read, an SQS race); run by `make test`'s Python checks."""

import sys
import threading

import moto_expressions
import moto_items
import moto_patches  # noqa: F401 - applies the patches under test

def run():
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
    failures += _meter_self_test()
    failures += _sqs_recount_self_test()
    failures += _fast_requests_self_test()
    failures += moto_expressions.self_test()
    failures += _answers_self_test()
    failures += _direct_self_test()
    failures += moto_items.self_test()
    for failure in failures:
        print(f"moto_server self-test: {failure}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print("moto_server self-test: transactions put back only what they named, queries read only their key, SQS queues take each message once and receive without recounting, data-plane requests read as moto reads them, JSON answers not searched for XML, DynamoDB and SQS requests answered without Flask as with it, expressions parsed once per distinct input, items built and written out as moto does in linear time, request units metered only when on")


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




def _meter_self_test():
    """The meter counts every request, and DynamoDB's request units only while switched on
    (`POST /_meter {"units": true}`); a malformed switch is refused."""
    import io
    import json

    import boto3
    import moto_meter
    from moto import mock_aws

    key = {"id": {"S": "x"}}
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="metered",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="metered", Item={**key, "v": {"S": "1"}})

        def app(environ, start_response):
            ddb.get_item(TableName="metered", Key=key)
            start_response("200 OK", [])
            return [b"{}"]

        meter = moto_meter.Meter(app, threading.RLock())
        statuses = []

        def call(method, path, body=b"", target=""):
            environ = {
                "PATH_INFO": path,
                "REQUEST_METHOD": method,
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
                "HTTP_X_AMZ_TARGET": target,
                "HTTP_X_LOCAL_CALLER": "self-test",
            }
            answer = b"".join(meter(environ, lambda status, headers: statuses.append(status)))
            return json.loads(answer)

        def get_item_row():
            call("POST", "/", json.dumps({"TableName": "metered", "Key": key}).encode(), "DynamoDB_20120810.GetItem")
            rows = call("GET", "/_meter")["rows"]
            return {k: v for r in rows if r["caller"] == "self-test" and r["op"] == "GetItem" for k, v in r.items()}

        failures = []
        off = get_item_row()
        if off.get("requests") != 1 or "rru" in off:
            failures.append(f"meter: units off, a GetItem counted {off}")
        if call("POST", "/_meter", b'{"units": true}').get("units") is not True:
            failures.append("meter: units not switched on")
        on = get_item_row()
        if on.get("requests") != 2 or on.get("rru") != 0.5:
            failures.append(f"meter: units on, two GetItems counted {on}")
        call("POST", "/_meter", b'{"units": "yes"}')
        if not statuses[-1].startswith("400"):
            failures.append(f"meter: a malformed switch answered {statuses[-1]}")
        call("POST", "/_meter", b'{"units": false}')
        if get_item_row().get("rru") != 0.5:
            failures.append("meter: units switched off still counted")
    return failures


def _sqs_recount_self_test(backlog=500):
    """A receive from a queue with a backlog does not build the queue's attributes (its message
    counts: a pass over the whole queue) for each message it returns; messages still expire
    after the queue's retention period and stay invisible until their visibility timeout."""
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import Queue, sqs_backends

    failures = []
    builds = []
    attributes = Queue.attributes
    Queue.attributes = property(lambda self: builds.append(1) or attributes.fget(self))
    try:
        with mock_aws():
            sqs = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
            sqs.create_queue("backlog", VisibilityTimeout="300")
            for i in range(backlog):
                sqs.send_message("backlog", f"m{i}")
            builds.clear()
            got = sqs.receive_message("backlog", 10, 0, 300)
            if len(got) != 10:
                failures.append(f"SQS recount: a receive of 10 from {backlog} returned {len(got)}")
            if builds:
                failures.append(f"SQS recount: one receive built the queue's attributes {len(builds)} times")
            if len(sqs.receive_message("backlog", 10, 0, 300)) != 10 or sqs.get_queue("backlog").approximate_number_of_messages != backlog - 20:
                failures.append("SQS recount: received messages did not turn invisible")
            sqs.create_queue("short", MessageRetentionPeriod="60")
            sqs.send_message("short", "old")
            sqs.get_queue("short")._messages[0].sent_timestamp -= 61_000
            if sqs.receive_message("short", 10, 0, 30):
                failures.append("SQS recount: a message past its retention period was received")
    finally:
        Queue.attributes = attributes
    return failures


def _fast_requests_self_test():
    """moto_server's `json.loads` of DynamoDB data-plane requests gives what moto's model-driven
    parser gives, and is what reads them (a request with a binary value still goes to moto's)."""
    import json

    import moto_server
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_server.werkzeug_app import BackendRequest
    from werkzeug.test import EnvironBuilder

    original = DynamoHandler.parse_parameters
    model_parsed = []

    def counted(self, request):
        model_parsed.append(self._get_action())
        original(self, request)

    item = {
        "id": {"S": "c-1"},
        "n": {"N": "42"},
        "flag": {"BOOL": True},
        "nothing": {"NULL": True},
        "tags": {"SS": ["a", "b"]},
        "phases": {"L": [{"M": {"phase": {"S": "discovery"}, "chunk": {"N": "3"}}}]},
    }
    requests = {
        "PutItem": {"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(id)"},
        "Query": {
            "TableName": "t",
            "IndexName": "byOwner",
            "KeyConditionExpression": "ownerId = :o AND createdAt <= :c",
            "ExpressionAttributeValues": {":o": {"S": "u"}, ":c": {"N": "1"}},
            "Limit": 25,
            "ScanIndexForward": False,
        },
        "TransactWriteItems": {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": item}},
                {
                    "Update": {
                        "TableName": "q",
                        "Key": {"id": {"S": "u"}},
                        "UpdateExpression": "ADD used :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        },
        "GetItem": {"TableName": "t", "Key": {"id": {"B": "AAE="}}, "ConsistentRead": True},
    }
    failures = []
    DynamoHandler.parse_parameters = counted
    try:
        moto_server._fast_requests()
        for op, body in requests.items():
            raw = json.dumps(body).encode()
            request = EnvironBuilder(
                method="POST",
                path="/",
                data=raw,
                headers={"X-Amz-Target": f"DynamoDB_20120810.{op}", "Content-Type": "application/x-amz-json-1.0"},
            ).get_request(BackendRequest)
            handler = DynamoHandler()
            model_parsed.clear()
            handler.setup_class(request, "http://localhost/", request.headers)
            fast = handler.params
            original(handler, request)
            binary = op == "GetItem"
            if bool(model_parsed) != binary:
                failures.append(f"fast requests: {op} was read by {'moto' if model_parsed else 'json.loads'}")
            if fast != handler.params:
                failures.append(f"fast requests: {op} read as {fast}, moto reads {handler.params}")
    finally:
        DynamoHandler.parse_parameters = original
    return failures


def _answers_self_test():
    """A JSON answer is not searched for the XML request id element, and keeps its body; an XML
    answer gets the request id; both get the request id header."""
    import re

    from moto.core import responses

    searched = []
    sub = re.sub

    def counted(pattern, repl, string, *args, **kwargs):
        searched.append(len(string))
        return sub(pattern, repl, string, *args, **kwargs)

    responses.re.sub = counted
    failures = []
    try:
        body = '{"Item": {"id": {"S": "' + "x" * 10000 + '"}}}'
        headers, out = responses.BaseResponse._enrich_response({"status": 200}, body)
        if out != body or any(n >= len(body) for n in searched):
            failures.append("answers: a JSON answer was searched for <RequestId> or changed")
        if len(headers.get("x-amzn-requestid", "")) != 52 or headers.get("status") != "200":
            failures.append(f"answers: a JSON answer's headers are {headers}")
        headers, out = responses.BaseResponse._enrich_response({}, "<R><RequestId>old</RequestId></R>")
        if out != f"<R><RequestId>{headers.get('x-amzn-requestid')}</RequestId></R>":
            failures.append(f"answers: an XML answer's request id is not the header's: {out} {headers}")
    finally:
        responses.re.sub = sub
    return failures


def _direct_self_test():
    """moto_server's direct path answers DynamoDB, Streams and SQS JSON requests as moto's Flask
    app answers them (status, body, content type), errors included, and leaves every other
    request to the app."""
    import json

    import moto_server
    from werkzeug.test import EnvironBuilder

    flask_app = moto_server._dispatcher()
    passed = []

    def app(environ, start_response):
        passed.append(environ.get("HTTP_X_AMZ_TARGET"))
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("Other_"):
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
            return [b"{}"]
        return flask_app(environ, start_response)

    direct = moto_server._direct(app)

    ddb_auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"

    def call(wsgi, target, body, auth=ddb_auth):
        environ = EnvironBuilder(
            method="POST",
            path="/",
            data=json.dumps(body).encode(),
            headers={
                "X-Amz-Target": target,
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": auth,
            },
        ).get_environ()
        out = {}
        data = b"".join(wsgi(environ, lambda s, h, e=None: out.update(status=s, headers=dict(h))))
        return out["status"], out["headers"].get("Content-Type"), json.loads(data or b"null")

    ddb = "DynamoDB_20120810."
    call(flask_app, ddb + "CreateTable", {
        "TableName": "direct", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    })
    call(flask_app, ddb + "PutItem", {"TableName": "direct", "Item": {"id": {"S": "a"}, "n": {"N": "1"}, "l": {"L": [{"M": {"x": {"S": "y"}}}]}}})
    reads = [
        (ddb + "GetItem", {"TableName": "direct", "Key": {"id": {"S": "a"}}, "ConsistentRead": True}),
        (ddb + "GetItem", {"TableName": "missing", "Key": {"id": {"S": "a"}}}),
        (ddb + "Query", {"TableName": "direct", "KeyConditionExpression": "id = :i", "ExpressionAttributeValues": {":i": {"S": "a"}}}),
        (ddb + "PutItem", {"TableName": "direct", "Item": {"id": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(id)"}),
        (ddb + "DescribeTable", {"TableName": "direct"}),
        ("DynamoDBStreams_20120810.ListStreams", {"TableName": "direct"}),
    ]
    failures = []
    for target, body in reads:
        passed.clear()
        mine, theirs = call(direct, target, body), call(flask_app, target, body)
        if passed:
            failures.append(f"direct: {target} went through the Flask app")
        if mine != theirs:
            failures.append(f"direct: {target} answered {mine}, moto's app {theirs}")
    sqs = "AmazonSQS."
    sqs_auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"
    url = call(flask_app, sqs + "CreateQueue", {"QueueName": "direct"}, sqs_auth)[2]["QueueUrl"]
    for target, body in [
        (sqs + "GetQueueUrl", {"QueueName": "direct"}),
        (sqs + "GetQueueUrl", {"QueueName": "missing"}),
        (sqs + "ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 0}),
        (sqs + "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]}),
    ]:
        passed.clear()
        mine, theirs = call(direct, target, body, sqs_auth), call(flask_app, target, body, sqs_auth)
        if passed:
            failures.append(f"direct: {target} went through the Flask app")
        if mine != theirs:
            failures.append(f"direct: {target} answered {mine}, moto's app {theirs}")
    passed.clear()
    call(direct, "Other_20200101.Something", {})
    if passed != ["Other_20200101.Something"]:
        failures.append("direct: a request of another service did not go to moto's app")
    return failures
