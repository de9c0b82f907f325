"""FATOURATI references paid from e-banking or m-banking, provisional contract of gateways.md.

A payment gets a 12-digit reference (11 random digits and a Luhn check digit, so a mistyped one is refused before
any lookup). The bank channel then asks what a reference is due (inquiry) and confirms a payment (confirm), both in
JSON signed by the `X-Fatourati-Signature` header; the answers are (HTTP status, JSON body) pairs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints

from epay.clock import iso_instant
from epay.gateways.common import ContractAmount, parse_json_body, verify_signed_body
from epay.gateways.protocol import CallbackRequest, Confirmation, Kind, Notice, Outcome, Refusal
from epay.money import CURRENCY, Money

if TYPE_CHECKING:
    from epay.payments import Payment

HEADER_NAME = "X-Fatourati-Signature"
BILLER = "PORTNET"
Channel = Literal["E-BANKING", "M-BANKING"]
CHANNELS: Final[tuple[str, ...]] = get_args(Channel)  # as listed in a FATOURATI payment's reference

_RANDOM_PART = re.compile(r"[0-9]{11}")
_REFERENCE = re.compile(r"[0-9]{12}")

Answer = tuple[int, Mapping[str, object]]
"""An HTTP status and its JSON body; read-only, the constants below are shared (routes answer copies)."""

UNKNOWN: Final[Answer] = (404, {"code": "404"})
GONE: Final[Answer] = (410, {"code": "410"})  # expired, cancelled or paid: not payable, the bank must not debit
APPLIED: Final[Answer] = (200, {"code": "000"})
ALREADY_APPLIED: Final[Answer] = (200, {"code": "301"})
AMOUNT_MISMATCH: Final[Answer] = (409, {"code": "420"})
BAD_SIGNATURE: Final[Answer] = (401, {"code": "401"})


class InvalidRequest(ValueError):
    """A bank-channel request body that is not the contract's JSON."""


class _Request(BaseModel):
    # Unknown fields are ignored so the channel can add some without breaking payments.
    model_config = ConfigDict(extra="ignore", frozen=True)


class InquiryRequest(_Request):
    """`POST /v1/callbacks/fatourati/inquiry`: what is due on a reference."""

    reference: StrictStr


class ConfirmRequest(_Request):
    """`POST /v1/callbacks/fatourati/confirm`: the channel took the payment of a reference."""

    reference: StrictStr
    transaction_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=128)]
    amount: ContractAmount
    currency: StrictStr
    channel: Channel
    paid_at: StrictStr

    @property
    def money(self) -> Money:
        """The amount the channel took."""
        return Money.parse(self.amount)


def _luhn_check_digit(payload: str) -> str:
    total = 0
    # From the right, the digit next to the check digit is doubled, then every second one.
    for position, character in enumerate(reversed(payload)):
        digit = int(character)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def new_reference(random_digits: str) -> str:
    """A 12-digit reference: the caller's 11 random digits (from `secrets`) and their Luhn check digit."""
    if not _RANDOM_PART.fullmatch(random_digits):
        raise ValueError("a reference is made of exactly 11 random digits")
    return random_digits + _luhn_check_digit(random_digits)


def draw_reference() -> str:
    """A fresh reference from 11 digits of `secrets` (the store refuses one already in use: draw again)."""
    return new_reference("".join(secrets.choice("0123456789") for _ in range(11)))


def is_valid_reference(text: str) -> bool:
    """True for exactly 12 ASCII digits whose last one is the Luhn check digit of the others."""
    return bool(_REFERENCE.fullmatch(text)) and _luhn_check_digit(text[:-1]) == text[-1]


def parse_inquiry(body: bytes) -> InquiryRequest:
    """The inquiry in `body`; `InvalidRequest` for bad UTF-8, bad JSON or a body off the schema."""
    try:
        return parse_json_body(InquiryRequest, body)
    except ValueError as error:
        raise InvalidRequest("not a Fatourati inquiry") from error


def parse_confirm(body: bytes) -> ConfirmRequest:
    """The confirmation in `body`; `InvalidRequest` for bad UTF-8, bad JSON or a body off the schema."""
    try:
        return parse_json_body(ConfirmRequest, body)
    except ValueError as error:
        raise InvalidRequest("not a Fatourati confirmation") from error


def verify_request(header: str | None, body: bytes, secret: bytes, now: int) -> bool:
    """True when the `X-Fatourati-Signature` header signs exactly `body` and is at most 300 s from `now`."""
    return verify_signed_body(header, body, secret, now)


def inquiry_answer(
    amount: Money, issuer_code: str, issuer_name: str, invoices: list[tuple[str, Money]], expires_at_iso: str
) -> Answer:
    """`200 {"code": "000", ...}`: what is due on a payable reference, invoice by invoice, and until when."""
    return (
        200,
        {
            "code": "000",
            "amount": str(amount),
            "currency": CURRENCY,
            "biller": BILLER,
            "issuer": {"code": issuer_code, "name": issuer_name},
            "invoices": [{"invoice_number": number, "amount": str(due)} for number, due in invoices],
            "expires_at": expires_at_iso,
        },
    )


# -- the callback routes (part of the CMI gateway: FATOURATI is one of its methods) ---------------------------------


def _copy(answer: Answer) -> tuple[int, Any]:
    return answer[0], dict(answer[1])


@dataclass(frozen=True)
class _FatouratiRoute:
    secret: bytes
    gateway: str = "FATOURATI"
    confirmation: Confirmation = Confirmation.BEFORE_DEBIT
    retry_answer: tuple[int, Any] = (503, {"code": "503"})
    final_answer: tuple[int, Any] = (410, {"code": "410"})

    def speaks_for(self, payment: Payment) -> bool:
        return (payment.gateway, payment.method) == ("CMI", "FATOURATI")

    def _verified(self, request: CallbackRequest, now: int) -> Refusal | None:
        if not verify_request(request.header(HEADER_NAME), request.body, self.secret, now):
            return Refusal(_copy(BAD_SIGNATURE), "signature rejected", signature_failed=True)
        return None


@dataclass(frozen=True)
class InquiryRoute(_FatouratiRoute):
    """`POST /v1/callbacks/fatourati/inquiry`: what is due on a reference (changes nothing)."""

    path: str = "fatourati/inquiry"

    def read(self, request: CallbackRequest, now: int) -> Notice | Refusal:
        refused = self._verified(request, now)
        if refused is not None:
            return refused
        try:
            inquiry = parse_inquiry(request.body)
        except InvalidRequest:
            return Refusal((400, {"code": "400"}), "invalid inquiry")
        return Notice(
            gateway=self.gateway,
            kind=Kind.INQUIRY,
            amount=None,
            currency=CURRENCY,
            transaction_id="",
            fingerprint="",
            by_reference=inquiry.reference if is_valid_reference(inquiry.reference) else None,
        )

    def answer(self, outcome: Outcome, payment: Payment | None, now: int) -> tuple[int, Any]:
        if outcome is Outcome.PAYABLE and payment is not None and payment.reference is not None:
            return _copy(
                inquiry_answer(
                    payment.amount,
                    payment.issuer.code,
                    payment.issuer.name,
                    [(line.invoice_number, line.amount) for line in payment.lines],
                    iso_instant(payment.reference.expires_at),
                )
            )
        return _copy(UNKNOWN if outcome is Outcome.UNKNOWN else GONE)


@dataclass(frozen=True)
class ConfirmRoute(_FatouratiRoute):
    """`POST /v1/callbacks/fatourati/confirm`: the bank channel took the payment of a reference."""

    path: str = "fatourati/confirm"

    def read(self, request: CallbackRequest, now: int) -> Notice | Refusal:
        refused = self._verified(request, now)
        if refused is not None:
            return refused
        try:
            confirm = parse_confirm(request.body)
        except InvalidRequest:
            return Refusal((400, {"code": "400"}), "invalid confirmation")
        return Notice(
            gateway=self.gateway,
            kind=Kind.SUCCESS,
            amount=confirm.money,
            currency=confirm.currency,
            transaction_id=confirm.transaction_id,
            fingerprint=f"FATOURATI|{confirm.transaction_id}",
            by_reference=confirm.reference if is_valid_reference(confirm.reference) else None,
            # A bank transaction is unique across every reference: applied once, to one payment.
            event=("FATOURATI", confirm.transaction_id),
        )

    def answer(self, outcome: Outcome, payment: Payment | None, now: int) -> tuple[int, Any]:
        chosen = {
            Outcome.UNKNOWN: UNKNOWN,
            Outcome.SETTLED: APPLIED,
            Outcome.DUPLICATE: ALREADY_APPLIED,
            Outcome.MISMATCH: AMOUNT_MISMATCH,
        }.get(outcome, GONE)
        return _copy(chosen)
