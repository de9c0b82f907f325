"""The HTTP contract's bodies (api.md) as pydantic models: they validate requests and generate the OpenAPI."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from epay.error_catalogue import PYDANTIC_MESSAGES, field_message
from epay.money import MAX_INVOICES_PER_PAYMENT, Money
from epay.receipts import PATTERN as RECEIPT_CODE_PATTERN
from epay.subscription import CODE_PATTERN

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INVOICE_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$"
ISSUER_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$"


def _iso_date(value: object) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(field_message("iso_date"))
    return date.fromisoformat(value)


def _whole_number(value: object) -> object:
    """JSON Schema counts 10.0 as an integer: accept it, but never booleans or strings."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(PYDANTIC_MESSAGES["int_type"])
    return value


# Free text may hold any character a person types (accents, Arabic, no-break spaces) but no control character.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f]*$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,1800}\.[A-Za-z0-9_-]{1,200}$"


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
SubscriptionCode = Annotated[
    StrictStr,
    StringConstraints(pattern=CODE_PATTERN),
    AfterValidator(str.upper),
    Field(description="Code d'abonnement de l'opérateur: 4 lettres ou chiffres, insensible à la casse."),
]
InvoiceNumber = Annotated[StrictStr, StringConstraints(pattern=INVOICE_NUMBER_PATTERN)]
IssuerCode = Annotated[StrictStr, StringConstraints(pattern=ISSUER_CODE_PATTERN), AfterValidator(str.upper)]
AmountText = Annotated[
    StrictStr,
    StringConstraints(pattern=Money.PATTERN),
    Field(description="Montant en MAD, deux décimales, point décimal.", examples=["1250.50"]),
]
SearchText = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL_CHARACTERS)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchFilters(_Input):
    """The four result filters of the portal screen; any combination. Ranges are inclusive and must not be
    reversed (issued_from <= issued_to, min_amount <= max_amount)."""

    issuer: IssuerCode | None = None
    issued_from: IsoDate | None = None
    issued_to: IsoDate | None = None
    min_amount: AmountText | None = None
    max_amount: AmountText | None = None
    text: SearchText | None = Field(
        default=None, description="Sous-chaîne (insensible à la casse) du numéro ou du libellé."
    )

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> SearchFilters:
        if self.issued_from and self.issued_to and self.issued_from > self.issued_to:
            raise ValueError(field_message("dates_reversed"))
        if (
            self.min_amount is not None
            and self.max_amount is not None
            and Money.parse(self.min_amount) > Money.parse(self.max_amount)
        ):
            raise ValueError(field_message("amounts_reversed"))
        return self


PROOF_PATTERN = r"^[A-Za-z0-9+/]{1,2048}={0,2}$"
"""An ALTCHA payload: standard base64, at most 2 KB (ours are about 300 characters)."""


class SearchRequest(_Input):
    """`POST /v1/invoices/search`."""

    @field_validator("page_size", mode="before")
    @classmethod
    def _page_size_is_a_whole_number(cls, value: object) -> object:
        return _whole_number(value)

    subscription_code: SubscriptionCode
    invoice_number: InvoiceNumber | None = None
    filters: SearchFilters | None = None
    page_size: int = Field(default=10, ge=1, le=50)
    cursor: (
        Annotated[
            StrictStr,
            StringConstraints(pattern=CURSOR_PATTERN),
            Field(description="The previous page's next_cursor, unchanged (opaque, signed, expiring)."),
        ]
        | None
    ) = None
    proof: (
        Annotated[
            StrictStr,
            StringConstraints(pattern=PROOF_PATTERN),
            Field(
                description=(
                    "The ALTCHA payload (base64 JSON) solving the challenge of a 429 CHALLENGE_REQUIRED (api.md §8); "
                    "a valid, unused, unexpired proof grants a fresh miss budget, any other counts as no proof."
                )
            ),
        ]
        | None
    ) = None


class IssuerOut(BaseModel):
    code: str
    name: str


class InvoiceOut(BaseModel):
    invoice_id: str
    invoice_number: str
    issuer: IssuerOut
    issue_date: date
    due_date: date | None
    amount: str = Field(examples=["1250.50"])
    currency: Literal["MAD"] = "MAD"
    description: str
    status: Literal["UNPAID", "PENDING_PAYMENT"]
    hold_expires_at: str | None = Field(
        description="Instant ISO 8601 (UTC) jusqu'auquel un paiement en cours bloque la facture."
    )


class SearchResponse(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None


# -- payments (api.md §2-§5) -----------------------------------------------------------------------------------

INVOICE_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
PAYMENT_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
EMAIL_PATTERN = r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})\.[A-Za-z]{2,24}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 .-]{5,19}$"

InvoiceId = Annotated[StrictStr, StringConstraints(pattern=INVOICE_ID_PATTERN)]
PayerName = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=NO_CONTROL_CHARACTERS)
]


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(field_message("invoice_repeated"))
    return values


def _registry() -> Any:
    """The gateway registry, imported when a payment request is first validated or documented (never by the lookup)."""
    from epay.gateways import registry

    return registry


def _offered_gateway(name: str) -> str:
    if _registry().spec(name) is None:
        raise ValueError(PYDANTIC_MESSAGES["literal_error"])
    return name


def _offered_method(name: str) -> str:
    if name not in _registry().method_names():
        raise ValueError(PYDANTIC_MESSAGES["literal_error"])
    return name


def _gateway_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = [gateway.name for gateway in _registry().specs()]


def _method_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = _registry().method_names()
    offers = []
    for gateway in _registry().specs():
        names = [method.name for method in gateway.methods]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        offers.append(f"{gateway.name}: {listed}")
    schema["description"] = "; ".join(offers) + "."


def _pairs_schema(schema: dict[str, Any]) -> None:
    """The pairs each gateway offers, stated in the schema too (the service refuses others: 400 UNSUPPORTED_METHOD)."""
    schema["allOf"] = [
        {
            "if": {"properties": {"gateway": {"const": gateway.name}}},
            "then": {"properties": {"method": {"enum": [method.name for method in gateway.methods]}}},
        }
        for gateway in _registry().specs()
    ]


# Derived from the gateway registry when validated and when the OpenAPI document is built.
GatewayName = Annotated[StrictStr, AfterValidator(_offered_gateway), Field(json_schema_extra=_gateway_enum)]
MethodName = Annotated[StrictStr, AfterValidator(_offered_method), Field(json_schema_extra=_method_enum)]


class PayerIn(_Input):
    name: PayerName
    email: Annotated[StrictStr, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
    phone: Annotated[StrictStr, StringConstraints(pattern=PHONE_PATTERN)] | None = None


class PaymentRequest(_Input):
    """`POST /v1/payments`: the amount is never sent, the server computes it."""

    subscription_code: SubscriptionCode
    invoice_ids: Annotated[
        list[InvoiceId],
        Field(min_length=1, max_length=MAX_INVOICES_PER_PAYMENT, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ]
    gateway: GatewayName
    method: MethodName
    payer: PayerIn
    lang: Literal["fr", "ar", "en"] = "fr"

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_pairs_schema)


class RedirectOut(BaseModel):
    method: Literal["POST"]
    url: str
    fields: dict[str, str]


class ReferenceOut(BaseModel):
    code: str
    expires_at: str
    channels: list[str]


class PaymentInvoiceOut(BaseModel):
    invoice_id: str
    invoice_number: str
    amount: str


class PaymentCreated(BaseModel):
    """`201` answer of `POST /v1/payments`."""

    payment_id: str
    status: Literal["PENDING", "AWAITING_SETTLEMENT"]
    amount: str
    currency: Literal["MAD"] = "MAD"
    gateway: GatewayName
    method: str
    issuer: IssuerOut
    invoice_ids: list[str]
    created_at: str
    expires_at: str
    redirect: RedirectOut | None
    reference: ReferenceOut | None


ReceiptCode = Annotated[str, StringConstraints(pattern=RECEIPT_CODE_PATTERN)]

PaymentStatusText = Literal[
    "PENDING", "AWAITING_SETTLEMENT", "PAID", "FAILED", "CANCELLED", "EXPIRED", "NEEDS_REVIEW", "REVERSED"
]


class UnappliedFundsOut(BaseModel):
    """Money a gateway reported taken for this payment that settled nothing: it is being returned."""

    gateway: str
    transaction_id: str
    amount: str | None = Field(description="Montant annoncé par la passerelle, s'il est lisible.")
    currency: str
    reported_at: str
    reason: Literal["SECOND_PAYMENT", "AMOUNT_MISMATCH", "CURRENCY_MISMATCH"]


class ReversalOut(BaseModel):
    """How the money of a `REVERSED` payment was returned (operations-api.md §1)."""

    action: Literal["VOID", "REFUND", "MANUAL"] = Field(
        description="VOID : autorisation annulée avant débit ; REFUND : montant débité remboursé ; "
        "MANUAL : restitué par un opérateur, hors de l'API de la passerelle."
    )
    at: str = Field(description="Instant ISO 8601 (UTC) de la restitution.", examples=["2026-11-27T10:15:00Z"])
    reason: str = Field(
        description="Pourquoi : INVOICES_PAID_ELSEWHERE (factures déjà réglées par un autre paiement), "
        "ou le motif consigné par l'opérateur."
    )


class PaymentView(BaseModel):
    """`GET /v1/payments/{payment_id}` (never the subscription code)."""

    payment_id: str
    status: PaymentStatusText
    amount: str
    currency: Literal["MAD"] = "MAD"
    gateway: GatewayName
    method: str
    issuer: IssuerOut
    invoices: list[PaymentInvoiceOut]
    created_at: str
    expires_at: str
    paid_at: str | None
    gateway_transaction_id: str | None
    reference: ReferenceOut | None
    last_error: str | None
    reversal: ReversalOut | None = Field(
        description="Pour un paiement `REVERSED` : comment son montant a été restitué ; null sinon."
    )
    unapplied_funds: list[UnappliedFundsOut] = Field(
        default_factory=list,
        description="Paiements signalés par la passerelle qui ne règlent rien (à restituer au payeur).",
    )
    receipt_code: ReceiptCode | None = Field(
        description="Code du reçu, donné quand le paiement devient PAID (et conservé s'il est restitué) ; null avant.",
    )


class ReceiptInvoiceOut(BaseModel):
    invoice_number: str
    amount: str


class ReceiptVerification(BaseModel):
    """`GET /v1/receipts/{receipt_code}` (operations-api.md §7): what a receipt proves, to anyone holding its code.
    Never the payer's details nor the subscription code."""

    receipt_code: ReceiptCode
    status: Literal["PAID", "REVERSED"]
    payment_id: str
    paid_at: str | None
    amount: str
    currency: Literal["MAD"] = "MAD"
    issuer: IssuerOut
    gateway: GatewayName
    method: str
    invoices: list[ReceiptInvoiceOut]
