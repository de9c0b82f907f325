"""`epay load-invoices`: an operator's JSON Lines file, validated whole before anything is written.

Invoice ids are keyed with the invoice-id key (`EPAY_INVOICE_ID_KEY`, or in AWS the Secrets Manager secret named by
`EPAY_INVOICE_ID_KEY_ID`): only this loader computes them. The table records a fingerprint of the key on the first
load, and a loader holding another key stops before writing anything, since it would store every invoice again
under other ids. An invoice still stored under its legacy (unkeyed) id is moved to its keyed id, never copied.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints, ValidationError, model_validator

from epay.adapters.dynamodb.invoices import DynamoInvoiceStore
from epay.config import INVOICE_ID_KEY, MissingSecret, secret
from epay.invoices import (
    Invoice,
    InvoiceStatus,
    Issuer,
    invoice_id_for,
    invoice_id_key_fingerprint,
    legacy_invoice_id_for,
)
from epay.json_bounds import JsonTooComplex, check_json_bounds
from epay.money import MAX_INVOICE_AMOUNT, Money
from epay.ports import UpsertOutcome
from epay.schemas import AmountText, InvoiceNumber, IsoDate, IssuerCode, SubscriptionCode

MAX_LINE_BYTES = 8192
MIN_INVOICE_ID_KEY_BYTES = 32


class InvoiceRecord(BaseModel):
    """One line of the file (api.md, "epay load-invoices")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subscription_code: SubscriptionCode
    invoice_number: InvoiceNumber
    issuer_code: IssuerCode
    issuer_name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
    issue_date: IsoDate
    due_date: IsoDate | None = None
    amount: AmountText
    currency: Literal["MAD"] = "MAD"
    description: Annotated[StrictStr, StringConstraints(max_length=500)] = ""
    status: Literal["UNPAID", "PAID"] = "UNPAID"

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceRecord:
        amount = Money.parse(self.amount)
        if amount.centimes == 0:
            raise ValueError("amount: une facture de 0.00 MAD ne peut pas être payée")
        if amount > MAX_INVOICE_AMOUNT:
            # 50 of the largest still make a payment every gateway takes (docs/architecture.md, "Amount bounds").
            raise ValueError(f"amount: au plus {MAX_INVOICE_AMOUNT} MAD par facture")
        if self.due_date is not None and self.due_date < self.issue_date:
            raise ValueError("due_date: l'échéance précède la date d'émission")
        return self

    @property
    def identity(self) -> tuple[str, str, str]:
        """What identifies an invoice: its subscription, issuer and number."""
        return self.subscription_code, self.issuer_code, self.invoice_number

    def to_invoice(self, id_key: bytes) -> Invoice:
        return Invoice(
            invoice_id=invoice_id_for(id_key, *self.identity),
            subscription_code=self.subscription_code,
            invoice_number=self.invoice_number,
            issuer=Issuer(self.issuer_code, self.issuer_name),
            issue_date=self.issue_date,
            due_date=self.due_date,
            amount=Money.parse(self.amount),
            description=self.description,
            status=InvoiceStatus(self.status),
        )


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class InvalidInvoiceFile(Exception):
    """The file has bad lines; nothing was written."""

    def __init__(self, problems: list[LineError]) -> None:
        super().__init__(f"{len(problems)} invalid line(s)")
        self.problems = problems


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def parse_invoice_records(lines: list[bytes]) -> list[InvoiceRecord]:
    """Every record of the file, or `InvalidInvoiceFile` listing every bad line (blank lines are skipped)."""
    problems: list[LineError] = []
    records: list[tuple[int, InvoiceRecord]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            problems.append(LineError(number, f"line longer than {MAX_LINE_BYTES} bytes"))
            continue
        try:
            text = raw.decode("utf-8")
            check_json_bounds(text)
            parsed = json.loads(text)
        except UnicodeDecodeError:
            problems.append(LineError(number, "not valid UTF-8"))
            continue
        except json.JSONDecodeError as error:
            problems.append(LineError(number, f"not valid JSON ({error.msg})"))
            continue
        except JsonTooComplex as error:
            problems.append(LineError(number, f"not valid JSON ({error})"))
            continue
        if not isinstance(parsed, dict):
            problems.append(LineError(number, "a JSON object is expected"))
            continue
        try:
            records.append((number, InvoiceRecord.model_validate(parsed)))
        except ValidationError as error:
            problems.append(LineError(number, _describe(error)))
    seen = Counter(record.identity for _, record in records)
    problems += [
        LineError(number, f"invoice {record.invoice_number} of {record.issuer_code} appears twice in the file")
        for number, record in records
        if seen[record.identity] > 1
    ]
    if problems:
        raise InvalidInvoiceFile(sorted(problems, key=lambda problem: problem.line))
    return [record for _, record in records]


class InvoiceIdKeyProblem(Exception):
    """The invoice-id key is missing, too short, or not the one that made the table's ids; nothing was written."""


def invoice_id_key() -> bytes:
    """The invoice-id key, from `EPAY_INVOICE_ID_KEY` or the Secrets Manager secret `EPAY_INVOICE_ID_KEY_ID`."""
    try:
        key = secret(INVOICE_ID_KEY)
    except MissingSecret as error:
        raise InvoiceIdKeyProblem(
            "EPAY_INVOICE_ID_KEY (or EPAY_INVOICE_ID_KEY_ID, the Secrets Manager secret) is not configured"
        ) from error
    if len(key) < MIN_INVOICE_ID_KEY_BYTES:
        raise InvoiceIdKeyProblem(f"EPAY_INVOICE_ID_KEY must be at least {MIN_INVOICE_ID_KEY_BYTES} bytes long")
    return key


def check_invoice_id_key(invoices: DynamoInvoiceStore, id_key: bytes, now: int) -> None:
    """Stop unless `id_key` made the table's invoice ids (recording it if the table has none yet)."""
    if invoices.claim_invoice_id_key(invoice_id_key_fingerprint(id_key), now) is not None:
        raise InvoiceIdKeyProblem(
            "this table's invoice ids were made with another EPAY_INVOICE_ID_KEY; loading with this one would list "
            "every invoice twice. Use the table's key (in AWS: the stack's invoice-id-key secret; `epay serve` draws "
            "a new key at each start unless EPAY_INVOICE_ID_KEY is set)"
        )


def load_invoices(
    store: DynamoInvoiceStore, invoices: list[Invoice], now: int, id_key: bytes
) -> Counter[UpsertOutcome]:
    """Upsert every invoice; paid and currently held invoices are left as they are. Returns the outcomes.

    `invoices` carry ids made with `id_key`. One still stored under its legacy id is moved to its keyed id in one
    transaction (`DynamoInvoiceStore.replace_legacy_invoice`), so a reload never shows a payer the same invoice twice.
    """
    check_invoice_id_key(store, id_key, now)
    legacy_ids = {
        invoice.invoice_id: legacy_invoice_id_for(
            invoice.subscription_code, invoice.issuer.code, invoice.invoice_number
        )
        for invoice in invoices
    }
    still_legacy = store.get_invoices(list(legacy_ids.values()))
    outcomes: Counter[UpsertOutcome] = Counter()
    for invoice in invoices:
        legacy_id = legacy_ids[invoice.invoice_id]
        outcome = store.replace_legacy_invoice(invoice, legacy_id, now) if legacy_id in still_legacy else None
        if outcome is None:
            outcome = store.upsert_invoice(invoice, now)
        outcomes[outcome] += 1
    return outcomes
