"""M2T's merchant API (provisional, like the rest of M2T's contract): status and refund, pure (gateways.md,
"Server-to-server gateway APIs").

Requests are JSON bodies signed in `X-M2T-Signature` (`t=<unix>,v1=<hex>`, `common.sign_body`) with the secret of
the notifications; answers are believed only when signed the same way within 300 s of our clock, either way: an
unsigned, wrongly signed or stale answer, whatever its status, is a `NoAnswer`.

A status answer has the notification's shape without its event id, and is turned into the `Notice` the equivalent
notification would produce (`M2tStatus.as_notice`). Its fingerprint is the notification's, `M2T|<transaction_id>`,
so the engine recognises the notification and the status answer of the same transaction as one report; a `PAID`
answer without a transaction id is therefore not believed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints, ValidationError

from epay.gateways.common import ContractAmount, parse_json_body, printable_reason, sign_body, verify_signed_body
from epay.gateways.m2t import HEADER_NAME, NAME
from epay.gateways.protocol import Confirmation, Holding, Kind, NoAnswer, NoAnswerReason, Notice, OrderStatus
from epay.money import CURRENCY, Money
from epay.payments import PaymentEvent

CONTENT_TYPE = "application/json"
STATUS_PATH = "/orders/status"
REFUND_PATH = "/orders/refund"
MAX_ANSWER_BYTES = 64 * 1024

_ORDER_REF = re.compile(r"[A-Za-z0-9-]{1,64}")
_REFUND_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class M2tOrderStatus(StrEnum):
    """The `status` of a status answer."""

    PENDING = "PENDING"
    REFERENCE_ISSUED = "REFERENCE_ISSUED"
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


_KINDS: dict[M2tOrderStatus, Kind | None] = {
    M2tOrderStatus.PENDING: None,
    M2tOrderStatus.REFERENCE_ISSUED: Kind.REFERENCE,
    M2tOrderStatus.PAID: Kind.SUCCESS,
    M2tOrderStatus.FAILED: Kind.END,
    M2tOrderStatus.CANCELLED: Kind.END,
    M2tOrderStatus.EXPIRED: Kind.END,
}
# As the notification route ends a payment (m2t.M2tCallbackRoute).
_ENDINGS = {
    M2tOrderStatus.FAILED: PaymentEvent.GATEWAY_FAILED,
    M2tOrderStatus.CANCELLED: PaymentEvent.GATEWAY_CANCELLED,
    M2tOrderStatus.EXPIRED: PaymentEvent.GATEWAY_EXPIRED,
}


class M2tApiOperation(StrEnum):
    STATUS = "status"
    REFUND = "refund"


@dataclass(frozen=True)
class SignedRequest:
    """A request to M2T's API: `body` posted to `{base}{path}` with `headers`."""

    operation: M2tApiOperation
    path: str
    body: bytes
    headers: dict[str, str]


class _StatusBody(BaseModel):
    """A `200` status answer: the notification's shape, no event id. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_ref: Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    transaction_id: Annotated[StrictStr, StringConstraints(max_length=128)] | None = None
    status: M2tOrderStatus
    amount: ContractAmount
    currency: StrictStr
    method: StrictStr | None = None
    reference: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None
    occurred_at: StrictStr | None = None


class _StatusOnly(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: StrictStr
    refund_id: StrictStr | None = None


@dataclass(frozen=True)
class M2tStatus:
    """What M2T reports about one order."""

    order_ref: str
    status: M2tOrderStatus
    transaction_id: str | None
    amount: Money
    currency: str
    method: str | None
    reference: str | None
    occurred_at: str | None

    def as_notice(self) -> Notice | None:
        """The notice the notification of this status would produce, or None for `PENDING` (nothing to apply).

        Same kind, amount, currency, reference and fingerprint (`M2T|<transaction_id>`) as the notification's;
        no event id (`event` is None): applying the same answer twice changes nothing, by the payment's state.
        """
        kind = _KINDS[self.status]
        if kind is None:
            return None
        ending = _ENDINGS.get(self.status)
        return Notice(
            gateway=NAME,
            payment_id=self.order_ref,
            kind=kind,
            amount=self.amount,
            currency=self.currency,
            transaction_id=self.transaction_id or "",
            # A notification's fingerprint falls back on its event id, which a status answer has not: the order and
            # the status stand in for it (only a PAID answer's fingerprint is ever compared, and it has a transaction).
            fingerprint=f"{NAME}|{self.transaction_id or f'{self.order_ref}#status:{self.status.value}'}",
            end_event=ending,
            error=printable_reason(f"M2T {self.status.value}") if ending else None,
            reference=self.reference,
        )

    def as_order_status(self) -> OrderStatus:
        """The answer as recovery reads any gateway's: money is held only once the order is `PAID`."""
        paid = self.status is M2tOrderStatus.PAID
        return OrderStatus(
            gateway=NAME,
            order_id=self.order_ref,
            state=self.status.value,
            holding=Holding.TAKEN if paid else Holding.NOTHING,
            notice=self.as_notice(),
            confirmation=Confirmation.TAKEN if paid else None,
            amount=self.amount if paid else None,
        )


@dataclass(frozen=True)
class M2tUnknownOrder:
    """`404 {"status": "UNKNOWN_ORDER"}`: M2T never saw this order (the payer never reached its checkout)."""

    order_ref: str

    def as_order_status(self) -> OrderStatus:
        return OrderStatus(NAME, self.order_ref, "UNKNOWN_ORDER", Holding.NOTHING, unknown_order=True)


@dataclass(frozen=True)
class M2tRefunded:
    """`200 {"status": "REFUNDED", "refund_id": ...}`: refunded, now or by an earlier request with this refund_id."""

    order_ref: str
    refund_id: str


@dataclass(frozen=True)
class M2tNotRefundable:
    """`409 {"status": "NOT_REFUNDABLE"}`: nothing was refunded."""

    order_ref: str
    refund_id: str


M2tStatusAnswer = M2tStatus | M2tUnknownOrder | NoAnswer
M2tRefundAnswer = M2tRefunded | M2tNotRefundable | NoAnswer


# -- requests -----------------------------------------------------------------------------------------------------


def _signed(operation: M2tApiOperation, path: str, payload: dict[str, str], secret: bytes, now: int) -> SignedRequest:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": CONTENT_TYPE, HEADER_NAME: sign_body(secret, body, now)}
    return SignedRequest(operation, path, body, headers)


def _order_ref(order_ref: str) -> str:
    if not _ORDER_REF.fullmatch(order_ref):
        raise ValueError("order_ref must be 1 to 64 characters of [A-Za-z0-9-]")
    return order_ref


def status_request(merchant_id: str, order_ref: str, secret: bytes, now: int) -> SignedRequest:
    """`POST {base}/orders/status` `{"merchant_id", "order_ref"}`, signed at `now`."""
    payload = {"merchant_id": merchant_id, "order_ref": _order_ref(order_ref)}
    return _signed(M2tApiOperation.STATUS, STATUS_PATH, payload, secret, now)


def refund_request(
    merchant_id: str, order_ref: str, refund_id: str, amount: Money, secret: bytes, now: int
) -> SignedRequest:
    """`POST {base}/orders/refund` `{"merchant_id", "order_ref", "refund_id", "amount", "currency"}`, signed at `now`.

    `refund_id` is ours and makes the refund idempotent: asking again with it never refunds twice.
    """
    if not _REFUND_ID.fullmatch(refund_id):
        raise ValueError("refund_id must be 1 to 64 characters of [A-Za-z0-9._-]")
    payload = {
        "merchant_id": merchant_id,
        "order_ref": _order_ref(order_ref),
        "refund_id": refund_id,
        "amount": str(amount),
        "currency": CURRENCY,
    }
    return _signed(M2tApiOperation.REFUND, REFUND_PATH, payload, secret, now)


# -- answers ------------------------------------------------------------------------------------------------------


def _no_answer(operation: M2tApiOperation, order_ref: str, reason: NoAnswerReason, detail: str) -> NoAnswer:
    return NoAnswer(NAME, operation.value, order_ref, reason, printable_reason(detail))


def _verified(
    operation: M2tApiOperation, order_ref: str, body: bytes, signature: str | None, secret: bytes, now: int
) -> NoAnswer | None:
    if len(body) > MAX_ANSWER_BYTES:
        return _no_answer(operation, order_ref, NoAnswerReason.UNREADABLE, "answer too large")
    if not verify_signed_body(signature, body, secret, now):
        detail = "no signature" if not signature else "signature wrong or not within 300 s"
        return _no_answer(operation, order_ref, NoAnswerReason.UNSIGNED, detail)
    return None


def _status_only(body: bytes) -> _StatusOnly | None:
    try:
        return parse_json_body(_StatusOnly, body)
    except ValueError:
        return None


def parse_status_answer(
    status_code: int, body: bytes, signature: str | None, secret: bytes, now: int, order_ref: str
) -> M2tStatusAnswer:
    """M2T's answer to a status request for `order_ref`: verified first, then read.

    `200` with the notification's shape about this order → `M2tStatus` (`PAID` needs a transaction id and
    `REFERENCE_ISSUED` a reference); signed `404 {"status": "UNKNOWN_ORDER"}` → `M2tUnknownOrder`; anything else, or
    anything not signed within 300 s → `NoAnswer`.
    """
    operation = M2tApiOperation.STATUS
    refused = _verified(operation, order_ref, body, signature, secret, now)
    if refused is not None:
        return refused
    if status_code == 404:
        answer = _status_only(body)
        if answer is not None and answer.status == "UNKNOWN_ORDER":
            return M2tUnknownOrder(order_ref)
        return _no_answer(operation, order_ref, NoAnswerReason.UNREADABLE, "404 without UNKNOWN_ORDER")
    if status_code != 200:
        return _no_answer(operation, order_ref, NoAnswerReason.HTTP_STATUS, f"HTTP {status_code}")
    try:
        read = parse_json_body(_StatusBody, body)
    except (ValueError, ValidationError):
        return _no_answer(operation, order_ref, NoAnswerReason.UNREADABLE, "not a status answer")
    problem = _status_problem(read, order_ref)
    if problem:
        return _no_answer(operation, order_ref, NoAnswerReason.UNREADABLE, problem)
    return M2tStatus(
        order_ref=read.order_ref,
        status=read.status,
        transaction_id=read.transaction_id or None,
        amount=Money.parse(read.amount),
        currency=read.currency,
        method=read.method,
        reference=read.reference or None,
        occurred_at=read.occurred_at,
    )


def _status_problem(read: _StatusBody, order_ref: str) -> str | None:
    if read.order_ref != order_ref:
        return "the answer is about another order"
    if read.status is M2tOrderStatus.PAID and not read.transaction_id:
        return "PAID without transaction_id"
    if read.status is M2tOrderStatus.REFERENCE_ISSUED and not read.reference:
        return "REFERENCE_ISSUED without reference"
    return None


def parse_refund_answer(
    status_code: int, body: bytes, signature: str | None, secret: bytes, now: int, order_ref: str, refund_id: str
) -> M2tRefundAnswer:
    """M2T's answer to a refund request: signed `200 {"status": "REFUNDED", "refund_id"}` (this refund_id) →
    `M2tRefunded`; signed `409 {"status": "NOT_REFUNDABLE"}` → `M2tNotRefundable`; anything else → `NoAnswer`."""
    operation = M2tApiOperation.REFUND
    refused = _verified(operation, order_ref, body, signature, secret, now)
    if refused is not None:
        return refused
    if status_code not in (200, 409):
        return _no_answer(operation, order_ref, NoAnswerReason.HTTP_STATUS, f"HTTP {status_code}")
    answer = _status_only(body)
    if status_code == 409 and answer is not None and answer.status == "NOT_REFUNDABLE":
        return M2tNotRefundable(order_ref, refund_id)
    if status_code == 200 and answer is not None and answer.status == "REFUNDED" and answer.refund_id == refund_id:
        return M2tRefunded(order_ref, refund_id)
    return _no_answer(operation, order_ref, NoAnswerReason.UNREADABLE, f"{status_code} not a refund answer")
