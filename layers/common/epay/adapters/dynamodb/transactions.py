"""What the stores share about talking to DynamoDB: its failures translated once, and transactions of tagged actions.

A `TransactWriteItems` that fails a condition is explained by the tag of each action that failed, with the item as
it was (`ReturnValuesOnConditionCheckFailure`), never by the position of an action in the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from epay.adapters.dynamodb.items import Attributes
from epay.errors import StoreUnavailable

# One action of a transaction, with the tag its failure is reported under.
Tagged = tuple[str, dict[str, Any]]

_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "TransactionConflictException",
    }
)


def error_code(error: ClientError) -> str:
    """DynamoDB's error code (`ConditionalCheckFailedException`, `ThrottlingException`, …)."""
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated_failures() -> Iterator[None]:
    """Turn DynamoDB's transient failures into `StoreUnavailable`; let other client errors through."""
    try:
        yield
    except ClientError as error:
        if error_code(error) in _UNAVAILABLE_CODES:
            raise StoreUnavailable(error_code(error)) from error
        raise
    except BotoCoreError as error:
        raise StoreUnavailable(type(error).__name__) from error


def transact(client: Any, actions: list[Tagged]) -> dict[str, Attributes]:
    """Run one transaction of tagged actions; return the tags whose condition failed, each with the item as it was
    when its action asked for it (`ReturnValuesOnConditionCheckFailure`; else empty). Empty: it committed.

    Any other cancellation (a conflict with a concurrent transaction, throttling) wrote nothing either and is
    `StoreUnavailable`: the caller may retry.
    """
    try:
        with translated_failures():
            client.transact_write_items(TransactItems=[action for _, action in actions])
    except ClientError as error:
        if error_code(error) != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons", [])
        codes = [reason.get("Code", "None") for reason in reasons]
        if len(codes) != len(actions) or any(code not in ("None", "ConditionalCheckFailed") for code in codes):
            raise StoreUnavailable("TransactionCanceled: " + ",".join(sorted(set(codes)))) from error
        return {
            tag: Attributes.of(reason.get("Item", {}))
            for (tag, _), reason in zip(actions, reasons, strict=True)
            if reason.get("Code") == "ConditionalCheckFailed"
        }
    return {}
