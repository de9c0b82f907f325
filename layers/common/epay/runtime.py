"""Wiring done once per Lambda container: clients, secrets and use cases, built on first use and reused.

Each builder imports what it builds when it is first called, so a function pays at cold start only for the use
cases its routes need (the lookup never imports the payment, callback or idempotency code).

Each handler names the use cases it serves (`LOOKUP`, `PAYMENTS`, `CALLBACKS`, `IDEMPOTENCY`) to `start` when it is
imported: deployed, the function refuses to start unless every setting and secret those use cases read is there and
is not a local value (`epay.config`); a function checks only what it uses (the lookup reads no gateway setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from epay.config import (
    CHALLENGE_SECRET,
    CMI_API_PASSWORD,
    CMI_STORE_KEY,
    CURSOR_SECRET,
    FATOURATI_SECRET,
    M2T_SECRET,
    ORIGIN_SECRET,
    CallbackSettings,
    CounterSettings,
    EnvironmentSettings,
    GatewayApiSettings,
    GatewaySettings,
    IdempotencySettings,
    LookupSettings,
    MailSettings,
    PaymentSettings,
    ReceiptSettings,
    RecoverySettings,
    Secret,
    StoreSettings,
    check,
    is_deployed,
    load,
    secret,
)

if TYPE_CHECKING:
    from epay.adapters.dynamodb.counters import DynamoCounters
    from epay.adapters.dynamodb.invoices import DynamoInvoiceStore
    from epay.adapters.dynamodb.payments import DynamoPaymentStore
    from epay.callbacks import CallbackService
    from epay.edge import Edge
    from epay.gateways.registry import GatewayRegistry
    from epay.idempotency import IdempotentCall
    from epay.lookup import InvoiceLookup
    from epay.payment_service import PaymentService
    from epay.receipt_mailer import ReceiptMailer
    from epay.receipt_service import ReceiptDocuments
    from epay.receipt_verification import ReceiptVerifier
    from epay.recovery import RecoveryService


@dataclass(frozen=True)
class UseCase:
    """What a use case reads from the environment, with what it is built on (stores, counters, gateways, keys)."""

    settings: tuple[type[EnvironmentSettings], ...]
    secrets: tuple[Secret, ...] = ()

    def variables(self, deployed: bool) -> set[str]:
        """The variables it cannot run without: required settings, and each secret (deployed: its `_ID`)."""
        required = {name for model in self.settings for name, needed in model.variables().items() if needed}
        if deployed:
            return required | {which.id_variable for which in self.secrets}
        return required | {which.variable for which in self.secrets if which.required_locally}


GATEWAY_SECRETS = (CMI_STORE_KEY, M2T_SECRET, FATOURATI_SECRET)
# Every function behind the HTTP API: requests come through the CloudFront distribution (epay.edge).
EDGE = UseCase((), (ORIGIN_SECRET,))
LOOKUP = UseCase((StoreSettings, CounterSettings, LookupSettings), (CURSOR_SECRET, CHALLENGE_SECRET))
# The receipt's PDF reads a payment, and needs to know where its QR code leads.
RECEIPT_DOCUMENTS = UseCase((StoreSettings, ReceiptSettings))
# The receipt's e-mail: the outbox and the payments in the table, the PDF's link, SES's sender.
MAILER = UseCase((StoreSettings, ReceiptSettings, MailSettings))
# Verifying a receipt is public like the lookup, and limited like it (its own counters, the lookup's limits).
RECEIPTS = UseCase((StoreSettings, CounterSettings, LookupSettings), (CURSOR_SECRET,))
PAYMENTS = UseCase(
    (StoreSettings, CounterSettings, GatewaySettings, PaymentSettings), (CURSOR_SECRET, *GATEWAY_SECRETS)
)
CALLBACKS = UseCase((StoreSettings, GatewaySettings, CallbackSettings), GATEWAY_SECRETS)
IDEMPOTENCY = UseCase((StoreSettings, IdempotencySettings))
# The recovery pass asks the gateways' merchant APIs and applies their answers through the callback engine: it signs
# nothing a payer sees, so it reads no payment-page settings (the CMI store key, Fatourati's secret).
RECOVERY = UseCase((StoreSettings, GatewayApiSettings, RecoverySettings), (M2T_SECRET, CMI_API_PASSWORD))


def start(*use_cases: UseCase) -> None:
    """At a handler's import (the cold start): deployed, raise `InvalidSettings` — the function does not start —
    naming every variable its use cases need that is missing or set to a local value. Locally (the local stack,
    tests) nothing is read yet: each setting is checked when first used."""
    if is_deployed():
        check(
            (model for use_case in use_cases for model in use_case.settings),
            (which for use_case in use_cases for which in use_case.secrets),
        )


@cache
def dynamodb() -> Any:
    from epay.adapters.dynamodb.client import client_factory

    return client_factory(load(StoreSettings).dynamodb_endpoint)()


@cache
def invoice_store() -> DynamoInvoiceStore:
    from epay.adapters.dynamodb.invoices import DynamoInvoiceStore

    return DynamoInvoiceStore(dynamodb(), load(StoreSettings).table)


@cache
def payment_store() -> DynamoPaymentStore:
    from epay.adapters.dynamodb.payments import DynamoPaymentStore

    return DynamoPaymentStore(dynamodb(), load(StoreSettings).table)


@cache
def counters() -> DynamoCounters:
    from epay.adapters.dynamodb.counters import DynamoCounters

    return DynamoCounters(dynamodb(), load(CounterSettings).rate_limit_table)


@cache
def service_key() -> bytes:
    """Signs cursors and keys the digests of client addresses (rate limits) and of codes (logs)."""
    return secret(CURSOR_SECRET)


@cache
def invoice_lookup() -> InvoiceLookup:
    from epay.challenge import LookupChallenge
    from epay.cursor import CursorCodec
    from epay.lookup import InvoiceLookup
    from epay.ratelimit import RateLimiter

    config = load(LookupSettings)
    return InvoiceLookup(
        reader=invoice_store(),
        cursors=CursorCodec(service_key(), config.cursor_ttl_seconds),
        limiter=RateLimiter(
            counters(),
            "lookup",
            config.lookup_limit_per_minute,
            service_key(),
            miss_limit=config.lookup_misses_per_hour,
            misses_per_proof=config.lookup_misses_per_proof,
        ),
        challenge=LookupChallenge(
            secret(CHALLENGE_SECRET),
            counters(),
            config.lookup_challenge_max_number,
            config.lookup_challenge_ttl_seconds,
        ),
    )


@cache
def receipt_verifier() -> ReceiptVerifier:
    from epay.ratelimit import RateLimiter
    from epay.receipt_verification import ReceiptVerifier

    config = load(LookupSettings)
    return ReceiptVerifier(
        payments=payment_store(),
        limiter=RateLimiter(
            counters(),
            "receipt",
            config.lookup_limit_per_minute,
            service_key(),
            miss_limit=config.lookup_misses_per_hour,
        ),
    )


@cache
def receipt_documents() -> ReceiptDocuments:
    from epay.receipt_service import ReceiptDocuments

    return ReceiptDocuments(payments=payment_store(), frontend_url=load(ReceiptSettings).frontend_url)


@cache
def receipt_mailer() -> ReceiptMailer:
    from epay import clock
    from epay.adapters.ses import SesSender, ses_client
    from epay.receipt_mailer import ReceiptMailer

    mail = load(MailSettings)
    return ReceiptMailer(
        outbox=payment_store(),
        payments=payment_store(),
        sender=SesSender(ses_client(mail.ses_endpoint)),
        mail_from=mail.mail_from,
        frontend_url=load(ReceiptSettings).frontend_url,
        clock=lambda: clock.now(),
    )


def gateway_settings() -> GatewaySettings:
    """Our addresses as the gateways are told them, and the gateways' merchants and pages."""
    return load(GatewaySettings)


@cache
def gateways() -> GatewayRegistry:
    """The configured gateway adapters: their settings, and the keys that sign what they see (never logged)."""
    from epay.gateways.cmi import CmiGateway, CmiSettings
    from epay.gateways.common import Endpoints
    from epay.gateways.m2t import M2tGateway, M2tSettings
    from epay.gateways.registry import GatewayRegistry

    config = gateway_settings()
    endpoints = Endpoints(config.public_api_url, config.frontend_url)
    cmi = CmiSettings(config.cmi_client_id, secret(CMI_STORE_KEY).decode("utf-8"), config.cmi_gateway_url)
    m2t = M2tSettings(config.m2t_merchant_id, secret(M2T_SECRET), config.m2t_gateway_url)
    return GatewayRegistry.of(
        CmiGateway(cmi, endpoints, fatourati_secret=secret(FATOURATI_SECRET)),
        M2tGateway(m2t, endpoints),
    )


@cache
def payment_service() -> PaymentService:
    from epay.payment_service import PaymentService
    from epay.ratelimit import RateLimiter

    config = load(PaymentSettings)
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

    return CallbackService(
        invoices=invoice_store(), payments=payment_store(), settings=load(CallbackSettings), gateways=gateways()
    )


@cache
def recovery_service() -> RecoveryService:
    """The recovery pass, with one merchant API client per gateway (gateways.md, "Server-to-server gateway APIs")."""
    from epay.callbacks import CallbackService
    from epay.gateways.clients import CmiApiClient, CmiMerchantApi, M2tApiClient, M2tMerchantApi
    from epay.gateways.registry import GatewayRegistry
    from epay.recovery import RecoveryService

    apis = load(GatewayApiSettings)
    config = load(RecoverySettings)
    # Status answers never go through a callback route: the engine needs no adapter (and so no payment-page key).
    engine = CallbackService(
        invoices=invoice_store(), payments=payment_store(), settings=config, gateways=GatewayRegistry({})
    )
    merchant_apis = (
        CmiMerchantApi(CmiApiClient.from_settings(apis, secret(CMI_API_PASSWORD).decode("utf-8"))),
        M2tMerchantApi(M2tApiClient.from_settings(apis, secret(M2T_SECRET))),
    )
    return RecoveryService(
        invoices=invoice_store(),
        payments=payment_store(),
        callbacks=engine,
        apis={api.gateway: api for api in merchant_apis},
        settings=config,
    )


def edge() -> Edge:
    """How requests reach the API: the origin secrets CloudFront sends, and whether one is required (deployed).

    Read at every request, not once per container: Secrets Manager's value is cached for 5 minutes, so a rotated
    secret is picked up without a deployment (docs/operations.md, "Rotating the origin secret"). Locally, with no
    origin secret configured, no request came through a distribution and none is refused.
    """
    from epay.edge import Edge, origin_secrets

    deployed = is_deployed()
    if not ORIGIN_SECRET.configured() and not deployed:
        return Edge()
    return Edge(origin_secrets(secret(ORIGIN_SECRET)), enforced=deployed)


@cache
def idempotency() -> IdempotentCall:
    from epay.idempotency import idempotent_call

    return idempotent_call(load(IdempotencySettings).idempotency_table, dynamodb())


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
        receipt_verifier,
        receipt_documents,
        receipt_mailer,
        gateways,
        payment_service,
        callback_service,
        recovery_service,
        idempotency,
    ):
        built.cache_clear()
