"""Payments and their forward-only state machine (api.md §3).

A payment holds a set of one issuer's invoices from creation until it settles, ends, or its hold expires.
Expiry is read lazily: nothing sweeps; a `PENDING` payment past `expires_at` simply reads as `EXPIRED`.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field, replace
from enum import StrEnum

from epay.invoices import Issuer
from epay.money import Money


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    AWAITING_SETTLEMENT = "AWAITING_SETTLEMENT"
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    NEEDS_REVIEW = "NEEDS_REVIEW"


LIVE = frozenset({PaymentStatus.PENDING, PaymentStatus.AWAITING_SETTLEMENT})
# A verified success may still settle a payment the payer's side has ended: the payer did pay (api.md §3).
SETTLEABLE = LIVE | {PaymentStatus.CANCELLED, PaymentStatus.EXPIRED, PaymentStatus.FAILED}


class Gateway(StrEnum):
    CMI = "CMI"
    M2T = "M2T"


METHODS: dict[Gateway, frozenset[str]] = {
    Gateway.CMI: frozenset({"CARD", "FATOURATI"}),
    Gateway.M2T: frozenset({"CARD", "TASHILAT", "DIRECT_DEBIT"}),
}
REFERENCE_METHODS = frozenset({("CMI", "FATOURATI")})


def is_supported(gateway: Gateway, method: str) -> bool:
    return method in METHODS[gateway]


def issues_reference_at_creation(gateway: Gateway, method: str) -> bool:
    """Fatourati issues its reference when the payment is created; the others redirect the browser."""
    return (gateway.value, method) in REFERENCE_METHODS


_PAYMENT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def is_payment_id(text: str) -> bool:
    """The shape of a payment id (anything else is unknown without a read)."""
    return _PAYMENT_ID.fullmatch(text) is not None


def new_payment_id() -> str:
    """Unguessable (128 random bits), `[A-Z0-9-]`, 30 characters: fits CMI's `oid` and M2T's `order_ref`."""
    return "PAY-" + base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One invoice of a payment, as it was when the payment was created."""

    invoice_id: str
    invoice_number: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    email: str
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference the payer pays through a bank channel (Fatourati) or an agency (TASHILAT)."""

    code: str
    expires_at: int


class UnappliedReason(StrEnum):
    """Why money a gateway reported taken for a payment did not settle it."""

    SECOND_PAYMENT = "SECOND_PAYMENT"  # the payment was already settled (or under review) by another report
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"  # taken for another amount than the payment's
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"  # taken in another currency than MAD


@dataclass(frozen=True, slots=True)
class UnappliedFunds:
    """A verified gateway report of money taken (or authorised) that settles nothing: money to return.

    Kept once per report (`fingerprint`), beside the payment it names, and alarmed; the recovery and the back
    office return it. `amount` is None when the gateway's figure could not be read as an amount.
    """

    gateway: str
    transaction_id: str
    amount: Money | None
    currency: str
    reported_at: int
    reason: UnappliedReason
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Payment:
    payment_id: str
    subscription_code: str
    issuer: Issuer
    gateway: Gateway
    method: str
    lines: tuple[PaymentLine, ...]
    amount: Money
    payer: Payer
    lang: str
    status: PaymentStatus
    created_at: int
    expires_at: int
    paid_at: int | None = None
    gateway_transaction_id: str | None = None
    reference: Reference | None = None
    last_error: str | None = None
    review_reason: str | None = None
    version: int = 1
    settled_by: str | None = field(default=None)

    @property
    def invoice_ids(self) -> list[str]:
        return [line.invoice_id for line in self.lines]

    def status_at(self, now: int) -> PaymentStatus:
        """The status as the contract shows it: a live payment past its expiry reads as `EXPIRED`."""
        if self.status in LIVE and now >= self.expires_at:
            return PaymentStatus.EXPIRED
        return self.status

    def is_live(self, now: int) -> bool:
        return self.status_at(now) in LIVE

    def with_status(self, status: PaymentStatus, **changes: object) -> Payment:
        return replace(self, status=status, version=self.version + 1, **changes)  # type: ignore[arg-type]
