"""Wiring done once per Lambda container: clients, secrets and use cases, built on first use and reused."""

from __future__ import annotations

from functools import cache
from typing import Any

from epay.callbacks import CallbackService
from epay.config import secret, settings
from epay.cursor import CursorCodec
from epay.idempotency import IdempotentCall, idempotent_call
from epay.lookup import InvoiceLookup
from epay.payment_service import GatewaySecrets, PaymentService
from epay.ratelimit import RateLimiter
from epay.store import Store, client_factory


@cache
def dynamodb() -> Any:
    return client_factory(settings().dynamodb_endpoint)()


@cache
def store() -> Store:
    config = settings()
    return Store(dynamodb(), config.table, config.rate_limit_table)


@cache
def cursor_key() -> bytes:
    return secret("cursor_secret")


@cache
def invoice_lookup() -> InvoiceLookup:
    config = settings()
    return InvoiceLookup(
        reader=store(),
        cursors=CursorCodec(cursor_key(), config.cursor_ttl_seconds),
        limiter=RateLimiter(
            store(), "lookup", config.lookup_limit_per_minute, cursor_key(), miss_limit=config.lookup_misses_per_hour
        ),
    )


@cache
def gateway_secrets() -> GatewaySecrets:
    return GatewaySecrets(
        cmi_store_key=secret("cmi_store_key").decode("utf-8"),
        m2t_secret=secret("m2t_secret"),
        fatourati_secret=secret("fatourati_secret"),
    )


@cache
def rate_limit_key() -> bytes:
    """Keys the digests of client addresses in rate-limit counters (the cursor secret, where it is configured)."""
    return secret("cursor_secret")


@cache
def payment_service() -> PaymentService:
    config = settings()
    return PaymentService(
        store=store(),
        limiter=RateLimiter(store(), "payment", config.payment_limit_per_minute, rate_limit_key()),
        settings=config,
        secrets=gateway_secrets(),
    )


@cache
def callback_service() -> CallbackService:
    return CallbackService(store=store(), settings=settings(), secrets=gateway_secrets())


@cache
def idempotency() -> IdempotentCall:
    return idempotent_call(settings().idempotency_table, dynamodb())


def reset() -> None:
    """Forget everything built (tests switch environments between cases)."""
    from epay import config

    config.reset()
    for built in (
        dynamodb,
        store,
        cursor_key,
        invoice_lookup,
        gateway_secrets,
        rate_limit_key,
        payment_service,
        callback_service,
        idempotency,
    ):
        built.cache_clear()
