"""Give moto's DynamoDB the isolation the real one has.

DynamoDB runs each request, and each transaction, atomically. moto does not: its `TransactWriteItems` checks every
condition, then writes, then on failure restores a copy of the whole table, all without a lock, so two concurrent
requests can interleave inside one transaction (and a rollback can even undo another request's write). The local
stack and the concurrency tests serialise moto's DynamoDB requests, so what they exercise is our conditions under
real request interleaving, not moto's missing isolation.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_INSTALLED = False


def serialise_moto_dynamodb() -> None:
    """Make each moto DynamoDB request atomic with respect to the others (idempotent, process-wide)."""
    global _INSTALLED
    with _LOCK:
        if _INSTALLED:
            return
        from moto.dynamodb.responses import DynamoHandler

        original = DynamoHandler.call_action

        @functools.wraps(original)
        def call_action(self: Any) -> Any:
            with _LOCK:
                return original(self)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        _INSTALLED = True
