"""Wiring done once per Lambda container: clients, secrets and use cases, built on first use and reused.

Each builder imports what it builds when it is first called, so a function pays at cold start only for the use
cases its routes need (the lookup never imports the payment, callback or idempotency code).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from epay.config import secret, settings

if TYPE_CHECKING:
    from epay.adapters.dynamodb.counters import DynamoCounters
    from epay.adapters.dynamodb.invoices import DynamoInvoiceStore
    from epay.adapters.dynamodb.payments import DynamoPaymentStore
    from epay.callbacks import CallbackService
    from epay.gateways.registry import GatewayRegistry
    from epay.idempotency import IdempotentCall
    from epay.lookup import InvoiceLookup
    from epay.payment_service import PaymentService


@cache
def dynamodb() -> Any:
    from epay.adapters.dynamodb.client import client_factory

    return client_factory(settings().dynamodb_endpoint)()


@cache
def invoice_store() -> DynamoInvoiceStore:
    from epay.adapters.dynamodb.invoices import DynamoInvoiceStore

    return DynamoInvoiceStore(dynamodb(), settings().table)


@cache
def payment_store() -> DynamoPaymentStore:
    from epay.adapters.dynamodb.payments import DynamoPaymentStore

    return DynamoPaymentStore(dynamodb(), settings().table)


@cache
def counters() -> DynamoCounters:
    from epay.adapters.dynamodb.counters import DynamoCounters

    return DynamoCounters(dynamodb(), settings().rate_limit_table)


@cache
def service_key() -> bytes:
    """Signs cursors and keys the digests of client addresses (rate limits) and of codes (logs)."""
    return secret("cursor_secret")


@cache
def invoice_lookup() -> InvoiceLookup:
    from epay.cursor import CursorCodec
    from epay.lookup import InvoiceLookup
    from epay.ratelimit import RateLimiter

    config = settings()
    return InvoiceLookup(
        reader=invoice_store(),
        cursors=CursorCodec(service_key(), config.cursor_ttl_seconds),
        limiter=RateLimiter(
            counters(),
            "lookup",
            config.lookup_limit_per_minute,
            service_key(),
            miss_limit=config.lookup_misses_per_hour,
        ),
    )


@cache
def gateways() -> GatewayRegistry:
    """The configured gateway adapters: their settings, and the keys that sign what they see (never logged)."""
    from epay.gateways.cmi import CmiGateway, CmiSettings
    from epay.gateways.common import Endpoints
    from epay.gateways.m2t import M2tGateway, M2tSettings
    from epay.gateways.registry import GatewayRegistry

    config = settings()
    endpoints = Endpoints(config.public_api_url, config.frontend_url)
    cmi = CmiSettings(config.cmi_client_id, secret("cmi_store_key").decode("utf-8"), config.cmi_gateway_url)
    m2t = M2tSettings(config.m2t_merchant_id, secret("m2t_secret"), config.m2t_gateway_url)
    return GatewayRegistry.of(
        CmiGateway(cmi, endpoints, fatourati_secret=secret("fatourati_secret")),
        M2tGateway(m2t, endpoints),
    )


@cache
def payment_service() -> PaymentService:
    from epay.payment_service import PaymentService
    from epay.ratelimit import RateLimiter

    config = settings()
    return PaymentService(
        invoices=invoice_store(),
        payments=payment_store(),
        limiter=RateLimiter(
            counters(),
            "payment",
            config.payment_limit_per_minute,
            service_key(),
            miss_limit=config.payment_misses_per_hour,
        ),
        settings=config,
        gateways=gateways(),
    )


@cache
def callback_service() -> CallbackService:
    from epay.callbacks import CallbackService

    return CallbackService(invoices=invoice_store(), payments=payment_store(), settings=settings(), gateways=gateways())


@cache
def idempotency() -> IdempotentCall:
    from epay.idempotency import idempotent_call

    return idempotent_call(settings().idempotency_table, dynamodb())


def reset() -> None:
    """Forget everything built (tests switch environments between cases)."""
    from epay import config

    config.reset()
    for built in (
        dynamodb,
        invoice_store,
        payment_store,
        counters,
        service_key,
        invoice_lookup,
        gateways,
        payment_service,
        callback_service,
        idempotency,
    ):
        built.cache_clear()
