"""moto's DynamoDB items, built and written out in linear time: `install()` is called by
scripts/moto_patches.py.

Found with `py-spy record --gil` on moto's DynamoDB process under the 50-wizard load (after the
expression patches of scripts/moto_expressions.py; docs/LOCAL_SPEED.md):

- `Item(...)` checked the 400 KB item limit on every attribute it set by sizing every attribute
  set before it (`LimitedSizeDict.__setitem__`): building an item of n attributes sized the item
  n times, nested values included — 4 % of moto's CPU. Here an item is built, then sized once;
  an item over the limit raises `ItemSizeTooLarge` as before (the size only grows while it is
  built, so the last check is the one that can fail). Attributes set later are still checked by
  `LimitedSizeDict` one by one.
- `DynamoType.to_regular_json` deep-copied its whole value at every level of nesting before
  converting each level again: writing out a campaign item (each answer, both images of each
  stream record) copied its phase list once per level — 5 % of moto's CPU. Here each level is
  built once, fresh; strings, numbers, bytes, booleans and None are shared, as `copy.deepcopy`
  shares them.

Invariants: the same answers as moto's code gives for every item (checked by `self_test` against
moto's own functions, which also fails without each patch); nothing returned shares a list or a
dict with the stored item.
"""

import base64
import copy

_ATOMS = (str, bytes, int, float, bool, type(None))


def plain(value):
    """`copy.deepcopy(value)`, without its call for the immutable values it would share anyway."""
    return value if isinstance(value, _ATOMS) else copy.deepcopy(value)


def install():
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    def item_init(self, hash_key, range_key, attrs):
        self.hash_key = hash_key
        self.range_key = range_key
        built = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in built.items()) > 405000:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, built)

    def to_regular_json(self):
        value = self.value
        if isinstance(value, dict):
            value = {k: v.to_regular_json() if isinstance(v, DynamoType) else plain(v) for k, v in value.items()}
        elif isinstance(value, list):
            value = [v.to_regular_json() if isinstance(v, DynamoType) else plain(v) for v in value]
        else:
            value = plain(value)
        if self.is_binary() and isinstance(value, str):
            value = base64.b64decode(value)
        return {self.type: value}

    install.originals = (Item.__init__, DynamoType.to_regular_json)
    Item.__init__ = item_init
    DynamoType.to_regular_json = to_regular_json
    assert dynamo_type.Item is Item


def self_test():
    """moto's own item building and writing against the patched ones, on the same attributes."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    failures = []
    original_init, original_json = getattr(install, "originals", (None, None))
    if original_init is None:
        return ["items: the patches are not installed"]
    attrs = {
        "id": {"S": "c-1"},
        "n": {"N": "42"},
        "flag": {"BOOL": True},
        "nothing": {"NULL": True},
        "blob": {"B": base64.b64encode(b"\x00\x01").decode()},
        "tags": {"SS": ["a", "b"]},
        "nums": {"NS": ["1", "2"]},
        "phases": {
            "L": [
                {"M": {"phase": {"S": "discovery"}, "chunk": {"N": "3"}, "inner": {"L": [{"S": "x"}, {"M": {"d": {"N": "1"}}}]}}},
                {"M": {"phase": {"S": "validation"}, "error": {"NULL": True}, "bin": {"B": "AAE="}}},
            ]
        },
        "config": {"M": {"tlds": {"L": [{"S": ".com"}]}, "empty": {"M": {}}}},
    }
    key = DynamoType(attrs["id"])
    patched = Item(key, None, copy.deepcopy(attrs))
    reference = object.__new__(Item)
    original_init(reference, key, None, copy.deepcopy(attrs))
    if patched.attrs != reference.attrs or type(patched.attrs) is not type(reference.attrs):
        failures.append("items: an item built differs from moto's")
    for name, value in patched.attrs.items():
        mine, theirs = value.to_regular_json(), original_json(value)
        if mine != theirs:
            failures.append(f"items: {name} written as {mine}, moto writes {theirs}")
    if patched.to_json() != reference.to_json():
        failures.append("items: to_json differs from moto's")
    out = patched.to_json()["Attributes"]
    out["phases"]["L"][0]["M"]["inner"]["L"].append({"S": "changed"})
    out["config"]["M"]["tlds"]["L"].clear()
    if patched.to_json() != reference.to_json():
        failures.append("items: changing what was written out changed the stored item")
    sized = []
    size = DynamoType.size

    def counted(self):
        sized.append(self.type)
        return size(self)

    DynamoType.size = counted
    try:
        Item(key, None, {f"a{i}": {"S": "v"} for i in range(50)})
    finally:
        DynamoType.size = size
    if len(sized) > 50:
        failures.append(f"items: building an item of 50 attributes sized {len(sized)} values (once each is 50)")
    try:
        Item(key, None, {f"a{i}": {"S": "v" * 1000} for i in range(410)})
        failures.append("items: an item over 400 KB was built")
    except ItemSizeTooLarge:
        pass
    return failures
