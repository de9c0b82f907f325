"""Payments and their forward-only state machine (api.md §3, operations-api.md §1).

A payment holds a set of one issuer's invoices from creation until it settles, ends, or its hold expires.
Expiry is read lazily: a `PENDING` payment past `expires_at` reads as `EXPIRED` at once; the recovery pass
(`epay.recovery`) records it later, after asking the gateway once more.

The state machine is data: `TRANSITIONS` lists every `(status, event) -> status` move, every state change goes
through `Payment.advance`, and a move that is not in the table raises `IllegalTransition`. docs/architecture.md
shows the same table (a test holds them equal).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from epay.clock import has_lapsed
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
    REVERSED = "REVERSED"  # money the gateway took or authorised was returned (void or refund); final


LIVE = frozenset({PaymentStatus.PENDING, PaymentStatus.AWAITING_SETTLEMENT})
# api.md §8: a reference is a soft hold. A card or direct-debit payment may take over invoices held only by unpaid
# references: these methods' live payments (a TASHILAT one while PENDING too, before M2T issues its reference).
SOFT_HOLD_METHODS = frozenset({"FATOURATI", "TASHILAT"})
TAKES_OVER_SOFT_HOLDS = frozenset({"CARD", "DIRECT_DEBIT"})
SUPERSEDED = "SUPERSEDED"  # the `last_error` of a payment whose invoices another payment took over
# A verified success may still settle a payment the payer's side has ended: the payer did pay (api.md §3).
SETTLEABLE = LIVE | {PaymentStatus.CANCELLED, PaymentStatus.EXPIRED, PaymentStatus.FAILED}


class PaymentEvent(StrEnum):
    """What can happen to a payment after its creation."""

    REFERENCE_ISSUED = "REFERENCE_ISSUED"  # M2T issued a TASHILAT reference
    ATTEMPT_DECLINED = "ATTEMPT_DECLINED"  # a card attempt was refused; the payer may try again on the gateway's page
    CANCELLED_BY_PAYER = "CANCELLED_BY_PAYER"
    GATEWAY_FAILED = "GATEWAY_FAILED"
    GATEWAY_CANCELLED = "GATEWAY_CANCELLED"
    GATEWAY_EXPIRED = "GATEWAY_EXPIRED"
    HOLD_LAPSED = "HOLD_LAPSED"  # read lazily at once; recorded by recovery after asking the gateway once more
    SETTLED = "SETTLED"  # a verified success paid every invoice
    FLAGGED = "FLAGGED"  # money taken or authorised that could not settle the invoices
    MONEY_RETURNED = "MONEY_RETURNED"  # what a flagged payment took was voided or refunded
    SUPERSEDED = "SUPERSEDED"  # an unpaid reference's invoices were taken over by a card or direct-debit payment


P, E = PaymentStatus, PaymentEvent
TRANSITION_ROWS: tuple[tuple[PaymentStatus, PaymentEvent, PaymentStatus], ...] = (
    (P.PENDING, E.REFERENCE_ISSUED, P.AWAITING_SETTLEMENT),
    (P.PENDING, E.ATTEMPT_DECLINED, P.PENDING),
    *((status, E.CANCELLED_BY_PAYER, P.CANCELLED) for status in (P.PENDING, P.AWAITING_SETTLEMENT)),
    *((status, E.GATEWAY_FAILED, P.FAILED) for status in (P.PENDING, P.AWAITING_SETTLEMENT)),
    *((status, E.GATEWAY_CANCELLED, P.CANCELLED) for status in (P.PENDING, P.AWAITING_SETTLEMENT)),
    *((status, E.GATEWAY_EXPIRED, P.EXPIRED) for status in (P.PENDING, P.AWAITING_SETTLEMENT)),
    *((status, E.HOLD_LAPSED, P.EXPIRED) for status in (P.PENDING, P.AWAITING_SETTLEMENT)),
    *((status, E.SETTLED, P.PAID) for status in (P.PENDING, P.AWAITING_SETTLEMENT, P.CANCELLED, P.EXPIRED, P.FAILED)),
    *(
        (status, E.FLAGGED, P.NEEDS_REVIEW)
        for status in (P.PENDING, P.AWAITING_SETTLEMENT, P.CANCELLED, P.EXPIRED, P.FAILED)
    ),
    (P.NEEDS_REVIEW, E.MONEY_RETURNED, P.REVERSED),
    *((status, E.SUPERSEDED, P.CANCELLED) for status in (P.PENDING, P.AWAITING_SETTLEMENT)),
)
TRANSITIONS: Mapping[tuple[PaymentStatus, PaymentEvent], PaymentStatus] = {
    (source, event): target for source, event, target in TRANSITION_ROWS
}
del P, E


class IllegalTransition(Exception):
    """A state change the table does not allow: a defect, never something a caller may retry."""

    def __init__(self, status: PaymentStatus, event: PaymentEvent) -> None:
        super().__init__(f"no transition from {status.value} on {event.value}")
        self.status = status
        self.event = event


def allows(status: PaymentStatus, event: PaymentEvent) -> bool:
    """True when `event` may happen to a payment in `status`."""
    return (status, event) in TRANSITIONS


def next_status(status: PaymentStatus, event: PaymentEvent) -> PaymentStatus:
    """Where `event` takes a payment in `status`; `IllegalTransition` when nowhere."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


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


class ReversalAction(StrEnum):
    """How money a payment must not keep was returned (operations-api.md §1)."""

    VOID = "VOID"  # an authorisation cancelled before it was captured
    REFUND = "REFUND"  # a captured amount credited back
    MANUAL = "MANUAL"  # an operator returned it outside the gateway's API


@dataclass(frozen=True, slots=True)
class Reversal:
    """What returned the money of a `REVERSED` payment: the view's `reversal`."""

    action: ReversalAction
    at: int
    reason: str


class Capture(StrEnum):
    """For an authorisation (CMI PreAuth) that settled a payment: whether the money was taken yet.

    CMI captures when our callback answer says `ACTION=POSTAUTH`; when that answer was lost, or recovery settled the
    payment from a status answer, recovery captures it (`PostAuth`), after asking CMI what it holds.
    """

    DUE = "DUE"
    DONE = "DONE"
    REFUSED = "REFUSED"  # CMI holds no authorisation to capture any longer: an operator's case, alarmed


# How long a recovery pass holds a payment it is working on (its `due` moved this far ahead): far more than a visit
# takes (three gateway calls of at most 5 s each, and a few writes), so two passes never work on one payment at once.
LEASE_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Recovery:
    """The recovery pass's bookkeeping on a payment (operations-api.md §1): never part of its status.

    `due` is when the payment is next asked about (the recovery index holds payments with a `due`, and only them);
    `checks` counts the asks, for the back-off; `unresolved_since` is when the pass first found something it could
    not settle (no answer, a pending or reversing state, a capture or reversal not done); `reversal_attempts` counts
    the void or refund requests sent, so a refund whose first answer was lost is never sent blindly again.
    """

    due: int | None = None
    checks: int = 0
    unresolved_since: int | None = None
    reversal_attempts: int = 0

    def due_now(self, now: int) -> Recovery:
        """Due at once: the next pass acts on it. A pass working on it now keeps it (its lease is not cut short)."""
        if self.due is not None and self.due <= now + LEASE_SECONDS:
            return self
        return replace(self, due=now)


@dataclass(frozen=True, slots=True)
class Payment:
    payment_id: str
    subscription_code: str
    issuer: Issuer
    gateway: str  # a name of `epay.gateways.registry` (CMI, M2T)
    method: str  # one of that gateway's methods
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
    capture: Capture | None = None
    reversal: Reversal | None = None
    recovery: Recovery = field(default_factory=Recovery)
    # Given in the settlement transaction (`epay.receipts`) and kept for good: a payment reversed later keeps it, so
    # its receipt then verifies as `REVERSED`.
    receipt_code: str | None = None
    # Which of its subscription code's live-payment slots the store gave it at creation (EPAY_LIVE_PAYMENTS_PER_CODE;
    # `epay.adapters.dynamodb.payments`), so that ending it frees that slot; None for a payment made before slots.
    live_slot: int | None = None

    @property
    def invoice_ids(self) -> list[str]:
        return [line.invoice_id for line in self.lines]

    def status_at(self, now: int) -> PaymentStatus:
        """The status as the contract shows it: a live payment past its expiry reads as `EXPIRED`."""
        if allows(self.status, PaymentEvent.HOLD_LAPSED) and has_lapsed(self.expires_at, now):
            return next_status(self.status, PaymentEvent.HOLD_LAPSED)
        return self.status

    def is_live(self, now: int) -> bool:
        return self.status_at(now) in LIVE

    def is_soft_hold(self, now: int) -> bool:
        """An unpaid reference (api.md §8): a card or direct-debit payment may take over its invoices."""
        return self.method in SOFT_HOLD_METHODS and self.is_live(now)

    def superseded(self) -> Payment:
        """This reference payment once another payment took over its invoices: `CANCELLED`, `last_error` SUPERSEDED."""
        return self.advance(PaymentEvent.SUPERSEDED, last_error=SUPERSEDED)

    def advance(self, event: PaymentEvent, **changes: Any) -> Payment:
        """This payment after `event` (a new version), with the attributes the event changes.

        Raises `IllegalTransition` when the table has no move for `event` from this payment's stored status.
        """
        if "status" in changes or "version" in changes:
            raise ValueError("status and version change only through the transition table")
        return replace(self, status=next_status(self.status, event), version=self.version + 1, **changes)

    def amended(self, **changes: Any) -> Payment:
        """This payment with bookkeeping changed (recovery's schedule, a capture's state), its status unchanged: a
        new version, so a concurrent writer that read the old one decides again."""
        if "status" in changes or "version" in changes:
            raise ValueError("status and version change only through the transition table")
        return replace(self, version=self.version + 1, **changes)

    def scheduled(self, due: int | None, **recovery: Any) -> Payment:
        """This payment asked about again at `due` (None: never again), with other recovery bookkeeping changed."""
        return self.amended(recovery=replace(self.recovery, due=due, **recovery))
