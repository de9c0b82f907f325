"""CMI's merchant API (NestPay XML, `CC5Request`): the requests and the reading of the answers, pure (gateways.md,
"Server-to-server gateway APIs").

Four operations on one order (our payment id is CMI's `OrderId`): status (`ORDERSTATUS=QUERY`), capture of a
PreAuth (`PostAuth`), void (`Void`) and refund (`Credit`). Requests are built with the standard library's XML
writer, which escapes every text; nothing but the documented elements is sent. Answers come from the network, so
they are parsed with `defusedxml` (no DTD, no entity, no external reference) and bounded; whatever cannot be read
exactly, or speaks of another order, is a `NoAnswer`, never a guess.

A status answer is turned into the `Notice` CMI's callback would have produced (`CmiOrderStatus.as_notice`), so
recovery applies it through the same engine. Its fingerprint is the callback's, `CMI|oid|TransId|00`, for a
transaction CMI approved (`A`, `C`, `S`): a callback is posted only for the authorisation, with ProcReturnCode
`00` and the TransId the status answer reports for the order, so the engine recognises the status answer and the
callback of the same transaction as one report whichever comes first (docs/architecture.md, "Gateway merchant APIs").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from enum import StrEnum
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from epay.error_catalogue import declined_last_error
from epay.gateways.cmi import CURRENCY_MAD, NAME, notice_fingerprint
from epay.gateways.common import printable_reason
from epay.gateways.protocol import Confirmation, Holding, Kind, NoAnswer, NoAnswerReason, Notice, OrderStatus
from epay.money import Money
from epay.payments import PaymentEvent

CONTENT_TYPE = "text/xml; charset=UTF-8"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
MAX_ANSWER_BYTES = 64 * 1024  # a real answer is well under 4 KiB
UNKNOWN_ORDER_CODE = "CORE-2008"
PROC_APPROVED = "00"

_ORDER_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_CENTIMES = re.compile(r"[0-9]{1,15}")
# What XML 1.0 can carry at all, less the control characters a name, password or id never holds.
_REFUSED_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class CmiApiOperation(StrEnum):
    """The operations of the merchant API; the value is what the `Type` element says (none for status)."""

    STATUS = "ORDERSTATUS"
    CAPTURE = "PostAuth"
    VOID = "Void"
    REFUND = "Credit"


class CmiResponse(StrEnum):
    """The `Response` element."""

    APPROVED = "Approved"
    DECLINED = "Declined"
    ERROR = "Error"


class TransStat(StrEnum):
    """`TRANS_STAT` of a status answer: every row of gateways.md's table."""

    AUTHORISED = "A"  # PreAuth, not captured
    CAPTURED = "C"
    SALE = "S"
    VOIDED = "V"
    CANCELLED = "CNCL"
    DECLINED = "D"
    ERROR = "ERR"
    PENDING = "PN"
    NEEDS_REVERSAL = "R"

    @property
    def notice_kind(self) -> Kind | None:
        """What the equivalent callback reports: a success (money authorised or taken), a decline (none taken), or
        None when nothing may be applied yet (`PN`, `R`: asked again on the next pass)."""
        return _KINDS[self]

    @property
    def confirmation(self) -> Confirmation | None:
        """What a success means for the money: authorised and captured only by us (`A`), already taken (`C`, `S`)."""
        return _CONFIRMATIONS.get(self)


_KINDS: dict[TransStat, Kind | None] = {
    TransStat.AUTHORISED: Kind.SUCCESS,
    TransStat.CAPTURED: Kind.SUCCESS,
    TransStat.SALE: Kind.SUCCESS,
    TransStat.VOIDED: Kind.DECLINE,
    TransStat.CANCELLED: Kind.DECLINE,
    TransStat.DECLINED: Kind.DECLINE,
    TransStat.ERROR: Kind.DECLINE,
    TransStat.PENDING: None,
    TransStat.NEEDS_REVERSAL: None,
}
_CONFIRMATIONS = {
    TransStat.AUTHORISED: Confirmation.AUTHORISED,
    TransStat.CAPTURED: Confirmation.CAPTURED,
    TransStat.SALE: Confirmation.CAPTURED,
}
_HOLDINGS = {
    TransStat.AUTHORISED: Holding.AUTHORISED,
    TransStat.CAPTURED: Holding.TAKEN,
    TransStat.SALE: Holding.TAKEN,
    TransStat.VOIDED: Holding.RETURNED,
    TransStat.CANCELLED: Holding.RETURNED,
}


@dataclass(frozen=True)
class CmiApiCredentials:
    """The merchant's CMI API account (distinct from the store key); the password is a secret, never logged."""

    name: str
    password: str
    client_id: str

    def __repr__(self) -> str:
        return f"CmiApiCredentials(name={self.name!r}, password='***', client_id={self.client_id!r})"


@dataclass(frozen=True)
class CmiOrderStatus:
    """A readable status answer about one order. Amounts are CMI's, in centimes, compared exactly."""

    order_id: str
    trans_stat: TransStat
    transaction_id: str
    amount: Money | None  # ORIG_TRANS_AMT: what was authorised (required for A, C, S)
    captured: Money | None  # CAPTURE_AMT: what was taken (required for C, S)
    auth_code: str
    error_message: str

    @property
    def confirmation(self) -> Confirmation | None:
        return self.trans_stat.confirmation

    @property
    def reported_amount(self) -> Money | None:
        """The amount a success reports: what was authorised (`A`), what was taken (`C`, `S`); None otherwise."""
        match self.confirmation:
            case Confirmation.AUTHORISED:
                return self.amount
            case Confirmation.CAPTURED:
                return self.captured
            case _:
                return None

    def as_notice(self) -> Notice | None:
        """The notice CMI's callback would have produced for this state, or None when there is nothing to apply.

        A success carries the callback's fingerprint for the same transaction (`CMI|oid|TransId|00`); a decline is
        kept with the state in place of a return code. Status answers carry no event id (`event` is None): applying
        the same one twice changes nothing, by the payment's state and its `settled_by` fingerprint.
        """
        kind = self.trans_stat.notice_kind
        if kind is None:
            return None
        success = kind is Kind.SUCCESS
        code = PROC_APPROVED if success else self.trans_stat.value
        return Notice(
            gateway=NAME,
            payment_id=self.order_id,
            kind=kind,
            amount=self.reported_amount if success else self.amount,
            # A status answer names no currency: the order is in the one our form sent (504, MAD).
            currency=CURRENCY_MAD,
            expected_currency=CURRENCY_MAD,
            transaction_id=self.transaction_id,
            fingerprint=notice_fingerprint(self.order_id, self.transaction_id, code),
            # Worded as a declined callback's (the page reads it the same way), the state in place of a return code.
            error=None if success else printable_reason(declined_last_error(NAME, code, self.error_message or None)),
        )

    def as_order_status(self) -> OrderStatus:
        """The answer as recovery reads any gateway's (gateways.md's `TRANS_STAT` table, row by row)."""
        holding = _HOLDINGS.get(self.trans_stat, Holding.NOTHING)
        return OrderStatus(
            gateway=NAME,
            order_id=self.order_id,
            state=f"TRANS_STAT {self.trans_stat.value}",
            holding=holding,
            notice=self.as_notice(),
            confirmation=self.confirmation,
            amount=self.reported_amount,
            # Voided or cancelled: nothing was taken, the payment ends like a decline (FAILED once expired).
            ends_as=PaymentEvent.GATEWAY_FAILED if holding is Holding.RETURNED else None,
            alert=self.trans_stat is TransStat.NEEDS_REVERSAL,
        )


@dataclass(frozen=True)
class CmiUnknownOrder:
    """CMI knows no such order (`CORE-2008`): the payer never submitted the card page."""

    order_id: str

    def as_order_status(self) -> OrderStatus:
        return OrderStatus(NAME, self.order_id, "UNKNOWN_ORDER", Holding.NOTHING, unknown_order=True)


@dataclass(frozen=True)
class CmiOperationResult:
    """CMI's answer to a capture, void or refund: done only when `Approved` with ProcReturnCode `00`."""

    operation: CmiApiOperation
    order_id: str
    response: CmiResponse
    proc_return_code: str
    transaction_id: str
    error_code: str
    error_message: str

    @property
    def done(self) -> bool:
        return self.response is CmiResponse.APPROVED and self.proc_return_code == PROC_APPROVED


CmiStatusAnswer = CmiOrderStatus | CmiUnknownOrder | NoAnswer
CmiOperationAnswer = CmiOperationResult | NoAnswer


# -- requests -----------------------------------------------------------------------------------------------------


def _text(value: str, what: str) -> str:
    if _REFUSED_TEXT.search(value):
        raise ValueError(f"{what} holds a control character")
    return value


def _document(credentials: CmiApiCredentials, order_id: str, extra: list[tuple[str, str]] | None = None) -> Element:
    if not _ORDER_ID.fullmatch(order_id):
        raise ValueError("OrderId must be 1 to 64 characters of [A-Za-z0-9-]")
    root = Element("CC5Request")
    for name, value in (
        ("Name", _text(credentials.name, "Name")),
        ("Password", _text(credentials.password, "Password")),
        ("ClientId", _text(credentials.client_id, "ClientId")),
        ("OrderId", order_id),
        *(extra or []),
    ):
        ElementTree.SubElement(root, name).text = value
    return root


def _serialise(root: Element) -> bytes:
    return (XML_DECLARATION + ElementTree.tostring(root, encoding="unicode")).encode("utf-8")


def status_request(credentials: CmiApiCredentials, order_id: str) -> bytes:
    """`<CC5Request>…<OrderId>…</OrderId><Extra><ORDERSTATUS>QUERY</ORDERSTATUS></Extra></CC5Request>`."""
    root = _document(credentials, order_id)
    ElementTree.SubElement(ElementTree.SubElement(root, "Extra"), "ORDERSTATUS").text = "QUERY"
    return _serialise(root)


def capture_request(credentials: CmiApiCredentials, order_id: str, amount: Money) -> bytes:
    """`PostAuth` of the order's PreAuth for `amount` (at most what was authorised), in MAD."""
    return _serialise(_document(credentials, order_id, _typed(CmiApiOperation.CAPTURE, amount)))


def void_request(credentials: CmiApiCredentials, order_id: str) -> bytes:
    """`Void` of the order's transaction (same day, before settlement)."""
    return _serialise(_document(credentials, order_id, _typed(CmiApiOperation.VOID)))


def refund_request(credentials: CmiApiCredentials, order_id: str, amount: Money) -> bytes:
    """`Credit` of `amount` on the order's captured transaction (after settlement), in MAD."""
    return _serialise(_document(credentials, order_id, _typed(CmiApiOperation.REFUND, amount)))


def _typed(operation: CmiApiOperation, amount: Money | None = None) -> list[tuple[str, str]]:
    elements = [("Type", operation.value)]
    if amount is not None:
        elements += [("Total", str(amount)), ("Currency", CURRENCY_MAD)]
    return elements


# -- answers ------------------------------------------------------------------------------------------------------


class _Unreadable(ValueError):
    """An answer that cannot be read exactly."""


@dataclass(frozen=True)
class _Answer:
    """The elements of a `<CC5Response>` the service reads, each present at most once."""

    values: dict[str, str]
    extra: dict[str, str]

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def extra_value(self, name: str) -> str:
        return self.extra.get(name, "")


def _children(element: Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for child in element:
        if child.tag in values:
            raise _Unreadable(f"{child.tag} appears twice")
        values[child.tag] = (child.text or "").strip()
    return values


def _read(body: bytes) -> _Answer:
    if len(body) > MAX_ANSWER_BYTES:
        raise _Unreadable("answer too large")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise _Unreadable(f"not XML ({type(error).__name__})") from error
    if root.tag != "CC5Response":
        raise _Unreadable("not a CC5Response")
    extras = [child for child in root if child.tag == "Extra"]
    if len(extras) > 1:
        raise _Unreadable("Extra appears twice")
    return _Answer(_children(root), _children(extras[0]) if extras else {})


def _response(answer: _Answer) -> CmiResponse:
    try:
        return CmiResponse(answer.get("Response"))
    except ValueError as error:
        raise _Unreadable("Response is not Approved, Declined or Error") from error


def _centimes(answer: _Answer, name: str, required: bool) -> Money | None:
    text = answer.extra_value(name)
    if not text and not required:
        return None
    if not _CENTIMES.fullmatch(text):
        raise _Unreadable(f"{name} is not an amount in centimes")
    try:
        return Money(int(text))
    except ValueError as error:
        raise _Unreadable(f"{name} is out of range") from error


def _no_answer(operation: CmiApiOperation, order_id: str, reason: NoAnswerReason, detail: str) -> NoAnswer:
    return NoAnswer(NAME, operation.value, order_id, reason, printable_reason(detail))


def parse_status_answer(body: bytes, order_id: str) -> CmiStatusAnswer:
    """The status CMI reports for `order_id`: a `CmiOrderStatus`, `CmiUnknownOrder` (`CORE-2008`), or a `NoAnswer`
    (unreadable, about another order, an unknown TRANS_STAT, a missing amount, or an `Error` of another kind)."""
    operation = CmiApiOperation.STATUS
    try:
        answer = _read(body)
        response = _response(answer)
        echoed = answer.get("OrderId")
        if response is not CmiResponse.APPROVED:
            if answer.extra_value("ERRORCODE") == UNKNOWN_ORDER_CODE and echoed in ("", order_id):
                return CmiUnknownOrder(order_id)
            code = answer.extra_value("ERRORCODE") or answer.get("ProcReturnCode")
            return _no_answer(operation, order_id, NoAnswerReason.REFUSED, f"{response.value} {code}")
        if echoed != order_id:
            raise _Unreadable("the answer is about another order")
        try:
            stat = TransStat(answer.extra_value("TRANS_STAT"))
        except ValueError as error:
            raise _Unreadable("TRANS_STAT missing or unknown") from error
        success = stat.notice_kind is Kind.SUCCESS
        transaction_id = answer.get("TransId") or answer.extra_value("TRANS_ID")
        if success and not transaction_id:
            raise _Unreadable("an approved transaction without TransId")
        return CmiOrderStatus(
            order_id=order_id,
            trans_stat=stat,
            transaction_id=transaction_id,
            amount=_centimes(answer, "ORIG_TRANS_AMT", required=success),
            captured=_centimes(answer, "CAPTURE_AMT", required=stat.confirmation is Confirmation.CAPTURED),
            auth_code=answer.extra_value("AUTH_CODE"),
            error_message=printable_reason(answer.get("ErrMsg")),
        )
    except _Unreadable as unreadable:
        return _no_answer(operation, order_id, NoAnswerReason.UNREADABLE, str(unreadable))


def parse_operation_answer(body: bytes, operation: CmiApiOperation, order_id: str) -> CmiOperationAnswer:
    """CMI's answer to a capture, void or refund of `order_id`, or a `NoAnswer` when it cannot be read exactly.

    An `Approved` answer must name the order; a refusal may leave `OrderId` empty (NestPay does for some errors).
    """
    if operation is CmiApiOperation.STATUS:
        raise ValueError("a status answer is read by parse_status_answer")
    try:
        answer = _read(body)
        response = _response(answer)
        echoed = answer.get("OrderId")
        if echoed != order_id and (response is CmiResponse.APPROVED or echoed):
            raise _Unreadable("the answer is about another order")
        return CmiOperationResult(
            operation=operation,
            order_id=order_id,
            response=response,
            proc_return_code=answer.get("ProcReturnCode"),
            transaction_id=answer.get("TransId"),
            error_code=printable_reason(answer.extra_value("ERRORCODE")),
            error_message=printable_reason(answer.get("ErrMsg")),
        )
    except _Unreadable as unreadable:
        return _no_answer(operation, order_id, NoAnswerReason.UNREADABLE, str(unreadable))
