"""AmanPay (M2T) hosted checkout, provisional contract of gateways.md: the signed form and the signed notification.

The form's `signature` is the lowercase hex HMAC-SHA256 of a canonical string of the other fields; the
notification is JSON signed in the `X-M2T-Signature` header (`common.verify_signed_body`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints

from epay.gateways.common import (
    Checkout,
    ContractAmount,
    Endpoints,
    Redirect,
    parse_json_body,
    printable_reason,
    verify_signed_body,
)
from epay.gateways.protocol import (
    CallbackRequest,
    CallbackRoute,
    Confirmation,
    GatewaySpec,
    Kind,
    MethodKind,
    MethodSpec,
    Notice,
    Outcome,
    Refusal,
)
from epay.money import CURRENCY, Money
from epay.payments import PaymentEvent

if TYPE_CHECKING:
    from epay.payments import Payment

NAME = "M2T"
SPEC = GatewaySpec(
    NAME,
    (
        MethodSpec("CARD", MethodKind.REDIRECT),
        MethodSpec("TASHILAT", MethodKind.REDIRECT_THEN_REFERENCE, ("TASHILAT",)),
        MethodSpec("DIRECT_DEBIT", MethodKind.REDIRECT),
    ),
)
HEADER_NAME = "X-M2T-Signature"
METHODS = frozenset(method.name for method in SPEC.methods)
SIGNATURE_FIELD = "signature"
_UNRESERVED = "-._~"  # RFC 3986 unreserved characters besides letters and digits, which quote() always keeps


class InvalidNotification(ValueError):
    """A notification body that is not the contract's JSON."""


@dataclass(frozen=True)
class M2tSettings:
    """The merchant's M2T account."""

    merchant_id: str
    secret: bytes
    gateway_url: str


class M2tNotification(BaseModel):
    """M2T's server-to-server notification. Unknown fields are ignored so M2T can add some."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=128)]
    order_ref: Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    transaction_id: Annotated[StrictStr, StringConstraints(max_length=128)] | None = None
    status: Literal["PAID", "FAILED", "CANCELLED", "REFERENCE_ISSUED", "EXPIRED"]
    amount: ContractAmount
    currency: StrictStr
    method: StrictStr | None = None
    reference: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None
    occurred_at: StrictStr | None = None

    @property
    def money(self) -> Money:
        """The notified amount."""
        return Money.parse(self.amount)


def canonical(fields: Mapping[str, str]) -> str:
    """Every field but `signature` as `name=value`, values percent-encoded (RFC 3986, UTF-8), sorted by name bytes."""
    names = sorted((name for name in fields if name != SIGNATURE_FIELD), key=lambda name: name.encode("utf-8"))
    return "&".join(f"{name}={quote(fields[name], safe=_UNRESERVED)}" for name in names)


def sign_fields(fields: Mapping[str, str], secret: bytes) -> str:
    """The form's `signature`: lowercase hex HMAC-SHA256 of the canonical string."""
    return hmac.new(secret, canonical(fields).encode("utf-8"), hashlib.sha256).hexdigest()


def verify_fields(fields: Mapping[str, str], secret: bytes) -> bool:
    """True when the form's `signature` matches its other fields (constant-time); what M2T's checkout checks."""
    received = fields.get(SIGNATURE_FIELD)
    if received is None:
        return False
    return hmac.compare_digest(sign_fields(fields, secret).encode("ascii"), received.encode("utf-8"))


def payment_form(
    checkout: Checkout, settings: M2tSettings, endpoints: Endpoints, timestamp: int, nonce: str
) -> Redirect:
    """The signed form that sends the payer's browser to M2T's checkout (CARD, TASHILAT or DIRECT_DEBIT).

    `timestamp` (unix seconds) and `nonce` come from the caller, so the form is a pure function of its inputs.
    """
    if checkout.method not in METHODS:
        raise ValueError(f"M2T takes CARD, TASHILAT or DIRECT_DEBIT, not {checkout.method}")
    return_url = endpoints.return_url(checkout.payment_id)
    fields = {
        "merchant_id": settings.merchant_id,
        "order_ref": checkout.payment_id,
        "amount": str(checkout.amount),
        "currency": CURRENCY,
        "method": checkout.method,
        "notify_url": endpoints.callback_url("m2t"),
        "return_url": return_url,
        "cancel_url": return_url,
        "lang": checkout.lang,
        "customer_name": checkout.payer_name,
        "customer_email": checkout.payer_email,
        "customer_phone": checkout.payer_phone,
        "timestamp": str(timestamp),
        "nonce": nonce,
    }
    fields[SIGNATURE_FIELD] = sign_fields(fields, settings.secret)
    return Redirect("POST", settings.gateway_url, fields)


def parse_notification(body: bytes) -> M2tNotification:
    """The notification in `body`; `InvalidNotification` for bad UTF-8, bad JSON or a body off the schema.

    Parse only a body whose signature `verify_notification` accepted.
    """
    try:
        return parse_json_body(M2tNotification, body)
    except ValueError as error:
        raise InvalidNotification("not an M2T notification") from error


def verify_notification(header: str | None, body: bytes, secret: bytes, now: int) -> bool:
    """True when the `X-M2T-Signature` header signs exactly `body` and is at most 300 s from `now`."""
    return verify_signed_body(header, body, secret, now)


# -- the adapter ----------------------------------------------------------------------------------------------

_KINDS = {"PAID": Kind.SUCCESS, "REFERENCE_ISSUED": Kind.REFERENCE}
_ENDINGS = {
    "FAILED": PaymentEvent.GATEWAY_FAILED,
    "CANCELLED": PaymentEvent.GATEWAY_CANCELLED,
    "EXPIRED": PaymentEvent.GATEWAY_EXPIRED,
}


@dataclass(frozen=True)
class M2tCallbackRoute:
    """`POST /v1/callbacks/m2t`: signed JSON notifications; JSON answers; M2T retries on 5xx."""

    secret: bytes
    path: str = "m2t"
    gateway: str = NAME
    confirmation: Confirmation = Confirmation.TAKEN
    retry_answer: tuple[int, Any] = (503, {"status": "RETRY"})
    final_answer: tuple[int, Any] = (422, {"status": "REJECTED"})

    def speaks_for(self, payment: Payment) -> bool:
        return payment.gateway == NAME

    def read(self, request: CallbackRequest, now: int) -> Notice | Refusal:
        if not verify_notification(request.header(HEADER_NAME), request.body, self.secret, now):
            return Refusal((401, {"status": "INVALID_SIGNATURE"}), "signature rejected", signature_failed=True)
        try:
            notification = parse_notification(request.body)
        except InvalidNotification:
            return Refusal((400, {"status": "INVALID_NOTIFICATION"}), "invalid notification")
        ending = _ENDINGS.get(notification.status)
        return Notice(
            gateway=NAME,
            payment_id=notification.order_ref,
            kind=_KINDS.get(notification.status, Kind.END),
            amount=notification.money,
            currency=notification.currency,
            transaction_id=notification.transaction_id or "",
            fingerprint=f"M2T|{notification.transaction_id or notification.event_id}",
            end_event=ending,
            error=printable_reason(f"M2T {notification.status}") if ending else None,
            reference=notification.reference,
            # M2T numbers events per order: the same event id on two orders is two events.
            event=(NAME, f"{notification.order_ref}#{notification.event_id}"),
        )

    def answer(self, outcome: Outcome, payment: Payment | None, now: int) -> tuple[int, Any]:
        if outcome is Outcome.UNKNOWN:
            return 404, {"status": "UNKNOWN_ORDER"}
        if outcome is Outcome.MISMATCH:
            return 409, {"status": "AMOUNT_MISMATCH"}
        return 200, {"status": "OK"}


@dataclass(frozen=True)
class M2tGateway:
    """M2T AmanPay: card, TASHILAT and direct debit on its hosted checkout."""

    settings: M2tSettings
    endpoints: Endpoints

    @property
    def spec(self) -> GatewaySpec:
        return SPEC

    @property
    def routes(self) -> tuple[CallbackRoute, ...]:
        return (M2tCallbackRoute(self.settings.secret),)

    def redirect(self, checkout: Checkout, created_at: int) -> Redirect:
        return payment_form(checkout, self.settings, self.endpoints, timestamp=created_at, nonce=secrets.token_hex(12))
