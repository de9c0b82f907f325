"""Wiring done once per Lambda container: clients, secrets and use cases, built on first use and reused."""

from __future__ import annotations

from functools import cache
from typing import Any

from epay.config import secret, settings
from epay.cursor import CursorCodec
from epay.lookup import InvoiceLookup
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
        limiter=RateLimiter(store(), "lookup", config.lookup_limit_per_minute, cursor_key()),
    )


def reset() -> None:
    """Forget everything built (tests switch environments between cases)."""
    from epay import config

    config.reset()
    for built in (dynamodb, store, cursor_key, invoice_lookup):
        built.cache_clear()
