"""What the gateway adapters share: their input, their output, the service's addresses and the signed-body header."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, StrictStr

from epay.json_bounds import check_json_bounds
from epay.money import Money

if TYPE_CHECKING:
    from epay.payments import Payment

SIGNATURE_TOLERANCE_SECONDS = 300
MAX_REASON_TEXT = 200
# Digits only and bounded: int() would also take "+1", " 1", "1_0" or other scripts' digits.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Checkout:
    """One payment attempt as a gateway needs it: the amount the server computed and who pays."""

    payment_id: str
    amount: Money
    method: str  # CARD | FATOURATI | TASHILAT | DIRECT_DEBIT
    lang: str  # fr | ar | en
    payer_name: str
    payer_email: str
    payer_phone: str  # "" when the payer gave none
    # How long the gateway's hosted session may last: the time left on the payment's hold when its form is built
    # (at creation, the whole hold). CMI's form carries it as `sessionTimeout`, so the page never outlives the hold.
    session_seconds: int

    @classmethod
    def of(cls, payment: Payment) -> Checkout:
        """The payment as its gateway's form is built from it (and, for CMI, as its callbacks must echo it).

        The form is built once, when the payment is created: its session is the whole hold.
        """
        return cls(
            payment_id=payment.payment_id,
            amount=payment.amount,
            method=payment.method,
            lang=payment.lang,
            payer_name=payment.payer.name,
            payer_email=payment.payer.email,
            payer_phone=payment.payer.phone,
            session_seconds=max(0, payment.expires_at - payment.created_at),
        )


@dataclass(frozen=True)
class Redirect:
    """A form the payer's browser auto-submits: `fields` sent with `method` to `url`."""

    method: str
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Endpoints:
    """The service's public addresses, as the gateways must be told them."""

    public_api_url: str
    frontend_url: str

    @property
    def _api(self) -> str:
        return self.public_api_url.rstrip("/")

    def return_url(self, payment_id: str) -> str:
        """Where the gateway sends the payer's browser back (display only, never changes state)."""
        return f"{self._api}/v1/payments/{payment_id}/return"

    def callback_url(self, gateway_path: str) -> str:
        """The server-to-server callback route of one gateway, e.g. `callback_url("cmi")`."""
        return f"{self._api}/v1/callbacks/{gateway_path}"


def printable_reason(text: str) -> str:
    """A gateway's failure reason as it may be stored and shown: printable, trimmed, at most 200 characters."""
    printable = "".join(character if character.isprintable() else " " for character in text)
    return printable.strip()[:MAX_REASON_TEXT]


def _body_mac(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def sign_body(secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`: `t=<unix>,v1=<hex HMAC-SHA256>`."""
    return f"t={timestamp},v1={_body_mac(secret, body, timestamp)}"


def _parse_signature_header(header: str) -> tuple[int, list[str]] | None:
    """The timestamp and the v1 candidates of a header, or None when it is garbled."""
    timestamps: list[str] = []
    candidates: list[str] = []
    for entry in header.split(","):
        if not entry.strip():
            continue
        key, separator, value = entry.partition("=")
        if not separator:
            return None
        key, value = key.strip(), value.strip()
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            candidates.append(value)
    # Two timestamps would leave open which one was signed.
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not candidates:
        return None
    return int(timestamps[0]), candidates


def verify_signed_body(
    header: str | None, body: bytes, secret: bytes, now: int, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """True when `header` carries a fresh (|now - t| <= tolerance) v1 signature of exactly these body bytes.

    Extra entries (other schemes) are ignored. Several v1 entries are allowed, so a sender rotating its secret
    can sign with the old and the new one; any of them may match.
    """
    parsed = _parse_signature_header(header) if header else None
    if parsed is None:
        return False
    timestamp, candidates = parsed
    if abs(now - timestamp) > tolerance:
        return False
    expected = _body_mac(secret, body, timestamp).encode("ascii")
    # Every candidate is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(expected, candidate.encode("utf-8")) for candidate in candidates]
    return any(matches)


def _contract_amount(text: str) -> str:
    Money.parse(text)
    return text


ContractAmount = Annotated[StrictStr, AfterValidator(_contract_amount)]
"""An amount in the contract's form (`"1250.50"`), checked by `Money.parse`."""


def parse_json_body(model: type[ModelT], body: bytes) -> ModelT:
    """`body` (strict UTF-8 JSON within `epay.json_bounds`) validated by `model`; a `ValueError` when it is not one,
    so the callback answers the gateway's own 400, never a 5xx that the gateway would retry for days."""
    text = body.decode("utf-8")
    check_json_bounds(text)
    try:
        return model.model_validate_json(text)
    except RecursionError as error:
        raise ValueError("JSON nested too deep") from error
