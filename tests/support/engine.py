"""The use cases on the in-memory stores, and the gateways played as they really call us: for fast unit tests.

`Harness` wires `PaymentService` and `CallbackService` to `tests/support/fakes.py` (held to the DynamoDB store by
`tests/integration/test_store_contract.py`), with settings and secrets built here and a clock that only moves when a
test moves it. Nothing here speaks HTTP, touches moto or opens a socket.

The gateways' requests are built the way gateways.md says the gateways build them:
- CMI echoes every field of the form the payment sent the browser (`PaymentCreated.redirect.fields`, HASH left out),
  adds its result fields and a fresh `rnd`, and signs the whole with the store key (`cmi.compute_hash`);
- M2T and the Fatourati bank channel sign the raw JSON body they post (`sign_body`, `t=<unix>,v1=<hex>`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlencode

from epay.callbacks import CallbackService
from epay.clock import iso_instant
from epay.config import GatewaySettings, LookupSettings, PaymentSettings
from epay.evidence import CallbackEvidence
from epay.gateways import cmi
from epay.gateways.cmi import CmiGateway, CmiSettings
from epay.gateways.common import Endpoints, sign_body
from epay.gateways.m2t import M2tGateway, M2tSettings
from epay.gateways.registry import GatewayRegistry
from epay.invoices import Invoice
from epay.payment_service import PaymentService
from epay.payments import Payment, UnappliedFunds
from epay.ports import UpsertOutcome
from epay.ratelimit import RateLimiter
from epay.receipt_verification import ReceiptVerifier
from epay.schemas import PaymentCreated, PaymentRequest, PaymentView, ReceiptVerification
from tests.support.fakes import CountingHits, InMemoryInvoices, InMemoryPayments, in_memory_stores
from tests.support.messages import cmi_result_fields, m2t_notification

# A code made of characters a payment id or an invoice id never holds (as in tests/support/payments.py), so the
# session's log scan (tests/conftest.py) would catch it leaking.
CODE = "Q0Z9"
OTHER_CODE = "K8J1"
PAYER = {"name": "Société Maritime", "email": "compta@example.ma", "phone": "0522000000"}
# The values of tests/conftest.py's environment: the session's log scan watches for exactly these.
CMI_STORE_KEY = "test-cmi-store-key"
M2T_SECRET = b"test-m2t-secret"
FATOURATI_SECRET = b"test-fatourati-secret"
SERVICE_KEY = b"test-service-key"
GATEWAY_SETTINGS = GatewaySettings(
    public_api_url="https://api.example.ma",
    frontend_url="https://www.example.ma/e-paiement/",
    cmi_client_id="600000000",
    cmi_gateway_url="https://testpayment.cmi.co.ma/fim/est3Dgate",
    m2t_merchant_id="PORTNET-TEST",
    m2t_gateway_url="https://checkout.m2t.example/checkout",
)
# The product's holds and payment limits.
SETTINGS = PaymentSettings()
# Wired as `epay.runtime.gateways` wires them, with the test keys.
GATEWAYS = GatewayRegistry.of(
    CmiGateway(
        CmiSettings(GATEWAY_SETTINGS.cmi_client_id, CMI_STORE_KEY, GATEWAY_SETTINGS.cmi_gateway_url),
        Endpoints(GATEWAY_SETTINGS.public_api_url, GATEWAY_SETTINGS.frontend_url),
        fatourati_secret=FATOURATI_SECRET,
    ),
    M2tGateway(
        M2tSettings(GATEWAY_SETTINGS.m2t_merchant_id, M2T_SECRET, GATEWAY_SETTINGS.m2t_gateway_url),
        Endpoints(GATEWAY_SETTINGS.public_api_url, GATEWAY_SETTINGS.frontend_url),
    ),
)
HOLD = SETTINGS.hold_seconds  # 1800: redirect methods
REFERENCE_HOLD = SETTINGS.reference_hold_seconds  # 259200: FATOURATI, and TASHILAT once its reference is issued
# 2026-11-27T10:15:00Z, the instant of the contract's examples.
NOW = 1_795_774_500
UNKNOWN_PAYMENT = "PAY-NOSUCHPAYMENT0000000000000"
CARD_NUMBER = "4000000000000002"
_serial = itertools.count(1)


def failing(error: Exception) -> Callable[..., NoReturn]:
    """A store method that fails with `error` before writing anything (as a DynamoDB transaction rolls back)."""

    def fail(*_: Any, **__: Any) -> NoReturn:
        raise error

    return fail


@dataclass(frozen=True)
class Stored:
    """Everything the stores hold that a callback may change, except the evidence it keeps of itself."""

    payments: dict[str, Payment]
    invoices: dict[str, Invoice]
    references: dict[str, str]
    events: dict[tuple[str, str], str]
    unapplied: dict[tuple[str, str], UnappliedFunds]


@dataclass
class Harness:
    """The two use cases on one pair of in-memory stores, at a time the test chooses."""

    settings: PaymentSettings = SETTINGS
    now: int = NOW
    hits: CountingHits = field(default_factory=CountingHits)
    invoices: InMemoryInvoices = field(init=False)
    payments: InMemoryPayments = field(init=False)

    def __post_init__(self) -> None:
        self.invoices, self.payments = in_memory_stores()

    # -- the use cases --------------------------------------------------------------------------------------------

    @property
    def service(self) -> PaymentService:
        """Wired as `epay.runtime.payment_service` wires it, on the fakes."""
        limiter = RateLimiter(
            self.hits,
            "payment",
            self.settings.payment_limit_per_minute,
            SERVICE_KEY,
            miss_limit=self.settings.payment_misses_per_hour,
        )
        return PaymentService(self.invoices, self.payments, limiter, self.settings, GATEWAYS)

    @property
    def verifier(self) -> ReceiptVerifier:
        """Wired as `epay.runtime.receipt_verifier` wires it, on the fakes (its own counters, the lookup's limits)."""
        limits = LookupSettings()
        limiter = RateLimiter(
            self.hits,
            "receipt",
            limits.lookup_limit_per_minute,
            SERVICE_KEY,
            miss_limit=limits.lookup_misses_per_hour,
        )
        return ReceiptVerifier(self.payments, limiter)

    def verify(self, code: str, client_address: str = "192.0.2.20") -> ReceiptVerification:
        return self.verifier.verify(code, client_address, self.now)

    @property
    def callbacks(self) -> CallbackService:
        return CallbackService(self.invoices, self.payments, self.settings, GATEWAYS)

    @property
    def now_ms(self) -> int:
        return self.now * 1000

    def advance(self, seconds: int) -> None:
        self.now += seconds

    # -- invoices -------------------------------------------------------------------------------------------------

    def given(self, *invoices: Invoice) -> list[Invoice]:
        """Invoices loaded as the issuers' file loads them."""
        for invoice in invoices:
            assert self.invoices.upsert_invoice(invoice, self.now) is UpsertOutcome.WRITTEN
        return list(invoices)

    def reload(self, invoice: Invoice) -> UpsertOutcome:
        """The issuer loads an invoice again (perhaps at another amount)."""
        return self.invoices.upsert_invoice(invoice, self.now)

    def invoice(self, invoice_id: str) -> Invoice:
        return self.invoices.items[invoice_id]

    def holder(self, invoice_id: str) -> str | None:
        """The payment whose hold is on the invoice (lapsed or not), if any."""
        hold = self.invoice(invoice_id).hold
        return hold.payment_id if hold else None

    # -- payments -------------------------------------------------------------------------------------------------

    def request(
        self,
        invoices: Iterable[Invoice | str],
        gateway: str = "CMI",
        method: str = "CARD",
        *,
        code: str = CODE,
        **overrides: Any,
    ) -> PaymentRequest:
        """A valid payment request for these invoices (or invoice ids), some fields overridden."""
        body: dict[str, Any] = {
            "subscription_code": code,
            "invoice_ids": [item if isinstance(item, str) else item.invoice_id for item in invoices],
            "gateway": gateway,
            "method": method,
            "payer": dict(PAYER),
            "lang": "fr",
            **overrides,
        }
        return PaymentRequest.model_validate(body)

    def start(
        self,
        invoices: Iterable[Invoice | str],
        gateway: str = "CMI",
        method: str = "CARD",
        *,
        client_address: str = "192.0.2.10",
        **overrides: Any,
    ) -> PaymentCreated:
        """Start a payment that must be created."""
        return self.service.create(self.request(invoices, gateway, method, **overrides), client_address, self.now)

    def payment(self, payment_id: str) -> Payment:
        """The payment as stored."""
        stored = self.payments.get_payment(payment_id)
        assert stored is not None, f"payment {payment_id} is not stored"
        return stored

    def view(self, payment_id: str) -> PaymentView:
        return self.service.view(payment_id, self.now)

    def cancel(self, payment_id: str) -> PaymentView:
        return self.service.cancel(payment_id, self.now)

    def unapplied(self, payment_id: str) -> list[UnappliedFunds]:
        return self.payments.unapplied_funds(payment_id)

    def stored(self) -> Stored:
        """A copy of what the stores hold (their items are immutable), to compare before and after."""
        return Stored(
            payments=dict(self.payments.payments),
            invoices=dict(self.invoices.items),
            references=dict(self.payments.references),
            events=dict(self.payments.events),
            unapplied=dict(self.payments.unapplied),
        )

    @property
    def evidence(self) -> list[CallbackEvidence]:
        return list(self.payments.evidence)

    # -- CMI ------------------------------------------------------------------------------------------------------

    def cmi_fields(
        self,
        created: PaymentCreated,
        *,
        proc_return_code: str = "00",
        trans_id: str = "26015K1Q0001",
        error_message: str = "",
        store_key: str = CMI_STORE_KEY,
        **changes: str,
    ) -> list[tuple[str, str]]:
        """What CMI posts back: every field the payment's form sent (but HASH), its result, a fresh rnd, the HASH.

        `changes` replace (or add) fields before signing, e.g. `amount="1020"` or `oid=UNKNOWN_PAYMENT`.
        """
        assert created.redirect is not None, "only a redirect payment is sent to CMI's page"
        fields = cmi_result_fields(
            created.redirect.fields,
            proc_return_code=proc_return_code,
            trans_id=trans_id,
            error_message=error_message,
        )
        fields.update(changes)
        return cmi_signed(list(fields.items()), store_key)

    def post_cmi(self, fields: Sequence[tuple[str, str]]) -> tuple[int, str]:
        """CMI posts these fields, form-encoded."""
        return self.callbacks.cmi(urlencode(list(fields)).encode("ascii"), self.now_ms)

    def cmi_success(self, created: PaymentCreated, **changes: str) -> tuple[int, str]:
        """CMI reports the card payment approved."""
        return self.post_cmi(self.cmi_fields(created, **changes))

    def cmi_decline(self, created: PaymentCreated, code: str = "05", **changes: str) -> tuple[int, str]:
        """CMI reports a declined card attempt."""
        changes.setdefault("error_message", "Do not honour")
        return self.post_cmi(self.cmi_fields(created, proc_return_code=code, **changes))

    # -- M2T ------------------------------------------------------------------------------------------------------

    def m2t_body(self, payment_id: str, status: str, amount: str, **options: Any) -> bytes:
        """M2T's JSON notification, occurring at the harness's now."""
        return m2t_notification(payment_id, status, amount, occurred_at=self.now, **options)

    def m2t_signature(self, body: bytes, *, at: int | None = None, secret: bytes = M2T_SECRET) -> str:
        return sign_body(secret, body, self.now if at is None else at)

    def post_m2t(self, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        """M2T posts `body` with this `X-M2T-Signature` (None: no header)."""
        return self.callbacks.m2t(body, signature, self.now_ms)

    def notify_m2t(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """M2T posts `body`, signed now with the right secret."""
        return self.post_m2t(body, self.m2t_signature(body))

    def m2t(self, created: PaymentCreated, status: str, **options: Any) -> tuple[int, dict[str, Any]]:
        """M2T notifies `status` for a payment, for its amount unless told otherwise, signed now."""
        amount = options.pop("amount", created.amount)
        return self.notify_m2t(self.m2t_body(created.payment_id, status, amount, **options))

    # -- Fatourati ------------------------------------------------------------------------------------------------

    def fatourati_signature(self, body: bytes, *, at: int | None = None, secret: bytes = FATOURATI_SECRET) -> str:
        return sign_body(secret, body, self.now if at is None else at)

    def inquiry_body(self, reference: str) -> bytes:
        return json.dumps({"reference": reference}).encode("utf-8")

    def confirm_body(
        self, reference: str, amount: str, *, transaction_id: str = "FTR-0001", currency: str = "MAD"
    ) -> bytes:
        body = {
            "reference": reference,
            "transaction_id": transaction_id,
            "amount": amount,
            "currency": currency,
            "channel": "E-BANKING",
            "paid_at": iso_instant(self.now),
        }
        return json.dumps(body).encode("utf-8")

    def post_inquiry(self, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        return self.callbacks.fatourati_inquiry(body, signature, self.now_ms)

    def post_confirm(self, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        return self.callbacks.fatourati_confirm(body, signature, self.now_ms)

    def inquire(self, reference: str) -> tuple[int, dict[str, Any]]:
        """The bank channel asks what is due on a reference, signed now."""
        body = self.inquiry_body(reference)
        return self.post_inquiry(body, self.fatourati_signature(body))

    def confirm(self, reference: str, amount: str, **options: str) -> tuple[int, dict[str, Any]]:
        """The bank channel confirms it took `amount` for a reference, signed now."""
        body = self.confirm_body(reference, amount, **options)
        return self.post_confirm(body, self.fatourati_signature(body))


def cmi_signed(fields: Sequence[tuple[str, str]], store_key: str = CMI_STORE_KEY) -> list[tuple[str, str]]:
    """The fields with the HASH CMI computes over them (any previous HASH dropped)."""
    unsigned = [(name, value) for name, value in fields if name.upper() != "HASH"]
    return [*unsigned, ("HASH", cmi.compute_hash(unsigned, store_key))]


def reference_of(created: PaymentCreated) -> str:
    assert created.reference is not None, "only a reference payment has a reference"
    return created.reference.code
