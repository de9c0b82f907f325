"""The seam between the payment service and a gateway: what every adapter provides and what it may say.

A gateway adapter (`cmi.CmiGateway`, `m2t.M2tGateway`, and any fourth one) is pure: it builds what the payer's
browser is sent to, or the reference the payer is given, and it reads (verifies, parses) what the gateway posts
back into a `Notice` the callback engine applies, then turns the engine's `Outcome` into the gateway's own answer.
It does no I/O. The registry (`registry.py`) lists the adapters; everything else (the request schema, the OpenAPI
enums, the page's method list, the callback routes) is derived from it.

Two small vocabularies carry what differs between gateways, and they are matched exhaustively (`assert_never`), so
that strict mypy names every place a new kind of gateway behaviour must be handled:
- `MethodKind`: how a payment method collects the money;
- `Confirmation`: what a verified success from a callback route means for the money.

The merchant APIs (status, capture, void, refund: `cmi_api`, `m2t_api`, called by `clients`) may also not answer:
`NoAnswer` is that outcome, whatever the cause, so a caller never has to guess from an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from epay.money import Money

if TYPE_CHECKING:
    from epay.gateways.common import Checkout, Redirect
    from epay.payments import Payment, PaymentEvent

Answer = tuple[int, Any]


class MethodKind(StrEnum):
    """How a payment method collects the money."""

    # The browser goes to the gateway's page; a callback settles the payment (card, direct debit).
    REDIRECT = "REDIRECT"
    # The browser goes to the gateway's page, which issues a reference paid later elsewhere (TASHILAT).
    REDIRECT_THEN_REFERENCE = "REDIRECT_THEN_REFERENCE"
    # We issue the reference at creation; the payer pays it from a bank channel (Fatourati).
    REFERENCE = "REFERENCE"


class Confirmation(StrEnum):
    """What a verified success posted to a callback route means for the payer's money."""

    # Money authorised, captured only by our answer (CMI PreAuth): a success we cannot apply is not captured, and an
    # amount mismatch is flagged for an operator.
    AUTHORISED = "AUTHORISED"
    # Money already taken (M2T): a success we cannot apply is money to return; a mismatch is refused and recorded.
    TAKEN = "TAKEN"
    # Asked as part of the debit (Fatourati confirm): only a live payment may be paid, and a refusal means the bank
    # takes nothing, so nothing is flagged or recorded.
    BEFORE_DEBIT = "BEFORE_DEBIT"
    # Money captured, learnt by asking the gateway (CMI `TRANS_STAT` `C`, `S`): like an authorisation, a success we
    # cannot apply or an amount mismatch goes to review (and recovery refunds what was paid elsewhere), but there is
    # nothing left to capture.
    CAPTURED = "CAPTURED"


@dataclass(frozen=True)
class MethodSpec:
    """One payment method a gateway offers."""

    name: str
    kind: MethodKind
    # Where the payer pays a reference (shown with it): Fatourati's bank channels, TASHILAT's agencies.
    channels: tuple[str, ...] = ()
    # For `MethodKind.REFERENCE`, and only for it: draws a fresh reference (the store keeps references unique).
    issue_reference: Callable[[], str] | None = None

    def __post_init__(self) -> None:
        if (self.kind is MethodKind.REFERENCE) != (self.issue_reference is not None):
            raise ValueError(f"{self.name}: a reference method, and only one, says how its references are drawn")

    def draw_reference(self) -> str:
        if self.issue_reference is None:
            raise ValueError(f"{self.name} issues no reference at creation")
        return self.issue_reference()


@dataclass(frozen=True)
class GatewaySpec:
    """A gateway as the contract names it: its methods. Static (no settings, no secrets)."""

    name: str
    methods: tuple[MethodSpec, ...]

    def method(self, name: str) -> MethodSpec | None:
        return next((method for method in self.methods if method.name == name), None)


class Kind(StrEnum):
    """What a verified notification reports."""

    SUCCESS = "success"
    DECLINE = "decline"
    END = "end"
    REFERENCE = "reference"
    INQUIRY = "inquiry"  # a question that changes nothing (Fatourati's inquiry)


class Outcome(StrEnum):
    """What the engine did with a notice; each route turns it into its gateway's answer."""

    SETTLED = "settled"
    DUPLICATE = "duplicate"
    ALREADY_SETTLED = "already settled by another notification"
    NEEDS_REVIEW = "needs review"
    RETURNED = "money already returned"  # a success for a payment whose money recovery (or an operator) returned
    MISMATCH = "amount or currency mismatch"
    DECLINED = "attempt declined"
    ENDED = "payment ended"
    REFERENCE_ISSUED = "reference issued"
    NOT_PAYABLE = "not payable"
    RECORDED = "recorded, nothing changed"
    FORGED = "refused, fields differ from what this payment sent"
    PAYABLE = "payable"  # an inquiry about a payment that can be paid now
    UNKNOWN = "unknown payment"


@dataclass(frozen=True)
class CallbackRequest:
    """A callback as received: the raw body and the headers (names in lower case)."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Notice:
    """What a verified notification says, whatever the gateway."""

    gateway: str
    kind: Kind
    amount: Money | None
    currency: str
    transaction_id: str
    fingerprint: str
    # Which payment it is about: by payment id (CMI oid, M2T order_ref), or by reference (Fatourati).
    payment_id: str | None = None
    by_reference: str | None = None
    end_event: PaymentEvent | None = None
    error: str | None = None
    reference: str | None = None
    # An applied-event key, unique in the scope the gateway numbers its events in (per order, or globally).
    event: tuple[str, str] | None = None
    expected_currency: str = "MAD"
    # For a signature that does not cover everything (CMI's HASH signs values, never names): the names of the
    # fields that differ from what this payment sent; any name refuses the notice before anything is decided.
    forged: Callable[[Payment], list[str]] | None = None

    @property
    def currency_ok(self) -> bool:
        return self.currency == self.expected_currency


@dataclass(frozen=True)
class Refusal:
    """A callback refused before anything is read from it (bad signature, unreadable, names never sent)."""

    answer: Answer
    decision: str
    signature_failed: bool = False
    # Field names worth logging (never values), for refusals of verified callbacks.
    fields: str | None = None


class NoAnswerReason(StrEnum):
    """Why a merchant API call gave nothing to act on."""

    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # refused connection, name lookup, TLS, a connection cut mid-answer
    HTTP_STATUS = "unexpected HTTP status"  # a redirect, a 5xx, any status the contract does not document
    UNREADABLE = "unreadable answer"  # not the contract's format, about another order, too large
    UNSIGNED = "unsigned, wrongly signed or stale answer"  # M2T: believed only when signed, within 300 s
    REFUSED = "request refused"  # CMI answered `Error` to a status query: its state stays unknown


@dataclass(frozen=True)
class NoAnswer:
    """A merchant API call that said nothing the service may act on: the caller changes nothing and asks later.

    `detail` is short, printable and free of payer data and credentials (it may be logged).
    """

    gateway: str
    operation: str
    order_id: str
    reason: NoAnswerReason
    detail: str = ""


class Holding(StrEnum):
    """What a gateway holds of the payer's money for one order, as its status answer says."""

    NOTHING = "NOTHING"  # nothing taken: unknown order, pending, declined, failed, expired
    AUTHORISED = "AUTHORISED"  # authorised, not captured: captured if it settles, else voided
    TAKEN = "TAKEN"  # captured or paid: kept if it settles, else refunded
    RETURNED = "RETURNED"  # an authorisation voided or cancelled: nothing is left to return


@dataclass(frozen=True)
class OrderStatus:
    """A gateway's readable answer to "what became of this order?", whatever the gateway (operations-api.md §1)."""

    gateway: str
    order_id: str
    state: str  # the gateway's own word (`TRANS_STAT A`, `PAID`, `UNKNOWN_ORDER`), for evidence and logs
    holding: Holding
    # What applying the answer means: the notice the equivalent callback would carry, and what its success means for
    # the money; None when nothing may be applied yet (a pending order, an unknown one).
    notice: Notice | None = None
    confirmation: Confirmation | None = None
    # What the gateway holds (authorised or captured), as it says; None when it holds nothing or did not say.
    amount: Money | None = None
    unknown_order: bool = False
    # At the end of the hold, the event recorded instead of `HOLD_LAPSED` (CMI `V`, `CNCL`: the payment failed).
    ends_as: PaymentEvent | None = None
    # A state an operator must see (CMI `R`: the gateway itself wants the transaction reversed).
    alert: bool = False


class Operation(StrEnum):
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


@dataclass(frozen=True)
class OperationDone:
    """A capture, void or refund the gateway confirmed."""

    gateway: str
    operation: Operation
    order_id: str
    transaction_id: str = ""


@dataclass(frozen=True)
class OperationRefused:
    """A capture, void or refund the gateway refused (nothing was done); `detail` is printable, free of payer data."""

    gateway: str
    operation: Operation
    order_id: str
    detail: str = ""


OperationAnswer = OperationDone | OperationRefused | NoAnswer


class MerchantApi(Protocol):
    """A gateway's merchant API as recovery uses it (gateways.md, "Server-to-server gateway APIs"): ask what became
    of a payment's order, and capture, void or refund it. Each call is one request with a timeout; whatever goes
    wrong is a `NoAnswer`, never an exception."""

    @property
    def gateway(self) -> str: ...

    def asks_about(self, payment: Payment) -> bool:
        """True when this API knows the payment's orders (its method goes through the gateway's own page)."""
        ...

    def status(self, payment: Payment) -> OrderStatus | NoAnswer: ...

    def capture(self, payment: Payment, amount: Money) -> OperationAnswer: ...

    def void(self, payment: Payment) -> OperationAnswer: ...

    def refund(self, payment: Payment, amount: Money) -> OperationAnswer:
        """Idempotent where the gateway allows it (M2T's `refund_id` is derived from the payment)."""
        ...


class CallbackRoute(Protocol):
    """One server-to-server route under `/v1/callbacks/`, in its gateway's format."""

    @property
    def path(self) -> str:
        """The route under `/v1/callbacks/` (`cmi`, `m2t`, `fatourati/confirm`)."""
        ...

    @property
    def gateway(self) -> str:
        """The name its evidence and logs carry."""
        ...

    @property
    def confirmation(self) -> Confirmation:
        """What a verified success on this route means for the money."""
        ...

    @property
    def retry_answer(self) -> Answer:
        """The answer to a storage failure: nothing was written, the gateway should retry."""
        ...

    @property
    def final_answer(self) -> Answer:
        """The answer to a deterministic failure: retrying would fail the same way."""
        ...

    def speaks_for(self, payment: Payment) -> bool:
        """True when a verified notice of this route may act on `payment` (its gateway and method)."""
        ...

    def read(self, request: CallbackRequest, now: int) -> Notice | Refusal:
        """Verify, then parse: the notice, or why the request is refused. Pure."""
        ...

    def answer(self, outcome: Outcome, payment: Payment | None, now: int) -> Answer:
        """The gateway's answer to what the engine did."""
        ...


class GatewayAdapter(Protocol):
    """A configured gateway: its spec, what the payer is sent to, and its callback routes."""

    @property
    def spec(self) -> GatewaySpec: ...

    @property
    def routes(self) -> tuple[CallbackRoute, ...]: ...

    def redirect(self, checkout: Checkout, created_at: int) -> Redirect:
        """The signed form for a redirect method (`MethodKind.REDIRECT`, `REDIRECT_THEN_REFERENCE`)."""
        ...
