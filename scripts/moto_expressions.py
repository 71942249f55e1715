"""moto's DynamoDB expressions, parsed once: `install()` is called by scripts/moto_patches.py.

Under the 50-wizard load a quarter of moto's DynamoDB CPU went to expressions (`py-spy record
--gil`, docs/LOCAL_SPEED.md): each request's condition and update expressions are parsed twice
(once by the handler to check the names and values it uses, once by the backend), the update
expression's tree is then deep-copied (`copy.deepcopy` through `__reduce_ex__`, slower than
parsing it), and every tree walk rebuilt its processors' class map for every node it visited.

- Condition expressions: `ConditionExpressionParser.parse` answers from a cache keyed by the
  expression and the exact names and values it was given (the result binds the values, so a
  request with other values parses again); the names and values it found are set on the parser
  as a parse would. The handler's parse and the backend's are then one.
- Update expressions: `UpdateExpressionParser.make` answers the tree parsed from the same string
  before. The tree is shared, so nothing may change it: the handler only reads it, and the
  validator works on a copy. That copy is made by `clone` (the nodes' attributes are `type`,
  `children` and `parent`: a new node per node, children cloned, parent pointers to the new
  nodes) instead of `copy.deepcopy`.
- `DepthFirstTraverser`: the class map is built once per traverser, not once per node.

Invariants: a cached answer is the answer a fresh parse of the same input gives (same tree, the
same names and values found); no cached object is changed after it is cached (checked by
`self_test`, which also fails without each patch). Errors are never cached: an invalid
expression raises on every request, as before. Each cache keeps its latest `CACHE_SIZE` entries.
"""

import copy
import json
import threading

import moto_items

CACHE_SIZE = 512


class _Cache:
    """A bounded dict, oldest entry out first; thread-safe."""

    def __init__(self, size=CACHE_SIZE):
        self.size = size
        self.entries = {}
        self.lock = threading.Lock()
        self.misses = 0

    def get(self, key):
        return self.entries.get(key)

    def put(self, key, value):
        with self.lock:
            self.misses += 1
            self.entries[key] = value
            while len(self.entries) > self.size:
                del self.entries[next(iter(self.entries))]


CONDITIONS = _Cache()
UPDATES = _Cache()


def clone(node, parent=None):
    """A copy of an update expression tree as `copy.deepcopy` makes it, without its memo: each
    node new, its children cloned (an atom shared, anything else deep-copied), its parent the
    new parent."""
    from moto.dynamodb.parsing.ast_nodes import Node

    new = object.__new__(node.__class__)
    attrs = dict(node.__dict__)
    new.__dict__ = attrs
    if "parent" in attrs:
        attrs["parent"] = parent
    children = attrs.get("children")
    if isinstance(children, list):
        attrs["children"] = [
            clone(c, new) if isinstance(c, Node) else moto_items.plain(c)
            for c in children
        ]
    return new


def install():
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing import ast_nodes, validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    parse = ConditionExpressionParser.parse

    def cached_parse(self):
        try:
            key = (
                self.condition_expression,
                json.dumps(self.expression_attribute_names, sort_keys=True),
                json.dumps(self.expression_attribute_values, sort_keys=True),
            )
        except (TypeError, ValueError):
            return parse(self)
        hit = CONDITIONS.get(key)
        if hit is None:
            op = parse(self)
            CONDITIONS.put(key, (op, tuple(self.expr_attr_names_found), tuple(self.expr_attr_values_found)))
            return op
        op, names, values = hit
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    ConditionExpressionParser.parse = cached_parse

    make = UpdateExpressionParser.make.__func__

    def cached_make(cls, expression_str):
        hit = UPDATES.get(expression_str)
        if hit is None:
            hit = make(cls, expression_str)
            UPDATES.put(expression_str, hit)
        return hit

    UpdateExpressionParser.make = classmethod(cached_make)

    def fast_copy(value, memo=None):
        if isinstance(value, ast_nodes.Node) and memo is None:
            return clone(value)
        return copy.deepcopy(value, memo)

    validators.deepcopy = fast_copy

    def processing_map(self):
        found = self.__dict__.get("_map_once")
        if found is None:
            found = self.__dict__["_map_once"] = self._processing_map()
        return found

    def nodes_to_be_processed(self):
        found = self.__dict__.get("_types_once")
        if found is None:
            found = self.__dict__["_types_once"] = tuple(processing_map(self).keys())
        return found

    def process(self, node):
        for class_key, processor in processing_map(self).items():
            if isinstance(node, class_key):
                return processor(node)

    ast_nodes.DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed
    ast_nodes.DepthFirstTraverser.process = process


def _shape(node, parent=None, seen=None):
    """A tree's structure as plain data, checking each parent pointer on the way."""
    from moto.dynamodb.parsing.ast_nodes import Node

    if not isinstance(node, Node):
        return repr(node)
    if node.parent is not parent:
        return "wrong parent"
    attrs = {k: v for k, v in node.__dict__.items() if k not in ("children", "parent")}
    children = node.children if isinstance(node.children, list) else []
    return (node.__class__.__name__, repr(sorted(attrs.items())), [_shape(c, node) for c in children])


def self_test():
    """Through boto3 on in-process moto: updates and conditions with other values each time give
    the answers DynamoDB gives, each distinct expression is parsed once, the cached trees stay as
    parsed, and `clone` makes what `copy.deepcopy` makes."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer

    failures = []
    expressions = [
        "SET a = :a, b.c = :b ADD n :one REMOVE gone",
        "SET l = list_append(if_not_exists(l, :empty), :l), #s = :s",
        "SET n = n + :one DELETE tags :t",
    ]
    for text in expressions:
        tree = UpdateExpressionParser.make(text)
        if _shape(clone(tree)) != _shape(copy.deepcopy(tree)):
            failures.append(f"expressions: clone differs from deepcopy for {text!r}")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        key = {"id": {"S": "x"}}
        ddb.put_item(
            TableName="t", Item={"id": {"S": "x"}, "v": {"N": "1"}, "gone": {"S": "g"}, "b": {"M": {}}, "tags": {"SS": ["p", "q"]}}
        )
        before = {text: _shape(UpdateExpressionParser.make(text)) for text in expressions}
        parses = {"update": 0, "condition": 0}
        tokenize, lex = ExpressionTokenizer.make_list.__func__, ConditionExpressionParser._lex_condition_expression

        def counted_tokenize(cls, text):
            parses["update"] += 1
            return tokenize(cls, text)

        def counted_lex(self):
            parses["condition"] += 1
            return lex(self)

        ExpressionTokenizer.make_list = classmethod(counted_tokenize)
        ConditionExpressionParser._lex_condition_expression = counted_lex
        try:
            for v in (1, 2, 3):
                ddb.update_item(
                    TableName="t",
                    Key=key,
                    UpdateExpression=expressions[0],
                    ConditionExpression="v = :v",
                    ExpressionAttributeValues={":a": {"S": f"a{v}"}, ":b": {"N": str(v)}, ":one": {"N": "1"}, ":v": {"N": str(v)}},
                )
                ddb.update_item(
                    TableName="t",
                    Key=key,
                    UpdateExpression=expressions[1] + ", v = :next",
                    ExpressionAttributeNames={"#s": "s"},
                    ExpressionAttributeValues={":empty": {"L": []}, ":l": {"L": [{"N": str(v)}]}, ":s": {"S": f"s{v}"}, ":next": {"N": str(v + 1)}},
                )
                ddb.update_item(TableName="t", Key=key, UpdateExpression=expressions[2], ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"SS": ["q"]}})
            try:
                ddb.update_item(TableName="t", Key=key, UpdateExpression="SET a = :a", ConditionExpression="v = :v", ExpressionAttributeValues={":a": {"S": "no"}, ":v": {"N": "1"}})
                failures.append("expressions: a condition on an old value held (a cached answer with other values)")
            except ddb.exceptions.ConditionalCheckFailedException:
                pass
        finally:
            ExpressionTokenizer.make_list = classmethod(tokenize)
            ConditionExpressionParser._lex_condition_expression = lex
        item = ddb.get_item(TableName="t", Key=key, ConsistentRead=True)["Item"]
        want = {
            "id": {"S": "x"}, "v": {"N": "4"}, "a": {"S": "a3"}, "b": {"M": {"c": {"N": "3"}}}, "n": {"N": "6"},
            "l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}, "s": {"S": "s3"}, "tags": {"SS": ["p"]},
        }
        if item != want:
            failures.append(f"expressions: after the updates {item}, DynamoDB gives {want}")
        after = {text: _shape(UpdateExpressionParser.make(text)) for text in expressions}
        if after != before:
            failures.append("expressions: a cached update expression tree was changed by its use")
        # Ten updates: two update expressions not seen before, each parsed once; four conditions
        # (each with other values), each parsed once for the handler and the backend together.
        if parses != {"update": 2, "condition": 4}:
            failures.append(f"expressions: parsed {parses}, want 2 update expressions and 4 conditions")
    return failures
