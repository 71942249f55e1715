"""Starts moto's server with DynamoDB writes made atomic.

moto serves requests on several threads, and its DynamoDB backend checks a condition and then
writes without a lock, so two concurrent conditional writes to one item can both succeed (a lost
update that real DynamoDB never allows: its writes to one item are serialized). This launcher
wraps every DynamoDB write (and the consistent read, so it never sees half a transaction) in one
process-wide lock, then runs the normal `moto_server` CLI with the given arguments.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main(sys.argv[1:])
