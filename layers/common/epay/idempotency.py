"""`Idempotency-Key` for `POST /v1/payments` (Powertools idempotency over its own DynamoDB table).

The same key with the same body within 24 h returns the first answer (the same payment); the same key with another
body is refused. Only successful answers are kept: a refusal (409, 404...) may be retried with the same key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from epay import errors
from epay.observability import logger

IDEMPOTENCY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IdempotentCall:
    """Runs a JSON-returning function at most once per idempotency key (per body) within 24 hours."""

    config: IdempotencyConfig
    run: Callable[..., dict[str, Any]]

    def __call__(self, key: str, payload: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        computed: list[dict[str, Any]] = []

        def compute_once() -> dict[str, Any]:
            computed.append(compute())
            return computed[-1]

        try:
            return self.run(command={"key": key, "payload": payload}, compute=compute_once)
        except IdempotencyValidationError as error:
            raise errors.idempotency_key_reused() from error
        except IdempotencyAlreadyInProgressError as error:
            raise errors.request_in_progress() from error
        except IdempotencyPersistenceLayerError as error:
            if computed:
                # The payment exists; only recording the answer failed. Saying 503 would hide a payment that
                # holds the invoices: answer it. A retry with the same key meets the in-progress record until
                # it lapses, then INVOICE_NOT_PAYABLE (the invoices are held by this payment), never a duplicate.
                logger.warning("idempotency record not completed; answering the created payment")
                return computed[-1]
            raise errors.service_unavailable() from error


def idempotent_call(table: str, client: Any) -> IdempotentCall:
    """The idempotent wrapper over the given table (built once per container)."""
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)

    @idempotent_function(data_keyword_argument="command", persistence_store=persistence, config=config)
    def run(command: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return compute()

    return IdempotentCall(config, run)
