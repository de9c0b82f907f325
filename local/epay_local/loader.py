"""`epay load-invoices`: an operator's JSON Lines file, validated whole before anything is written."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints, ValidationError, model_validator

from epay.invoices import Invoice, InvoiceStatus, Issuer
from epay.json_bounds import JsonTooComplex, check_json_bounds
from epay.money import MAX_INVOICE_AMOUNT, Money
from epay.ports import UpsertOutcome
from epay.schemas import AmountText, InvoiceNumber, IsoDate, IssuerCode, SubscriptionCode
from epay.store import Store

MAX_LINE_BYTES = 8192


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

    def to_invoice(self) -> Invoice:
        return Invoice(
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


def parse_invoice_lines(lines: list[bytes]) -> list[Invoice]:
    """Every invoice of the file, or `InvalidInvoiceFile` listing every bad line (blank lines are skipped)."""
    problems: list[LineError] = []
    invoices: list[tuple[int, Invoice]] = []
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
            invoices.append((number, InvoiceRecord.model_validate(parsed).to_invoice()))
        except ValidationError as error:
            problems.append(LineError(number, _describe(error)))
    seen = Counter(invoice.invoice_id for _, invoice in invoices)
    problems += [
        LineError(number, f"invoice {invoice.invoice_number} of {invoice.issuer.code} appears twice in the file")
        for number, invoice in invoices
        if seen[invoice.invoice_id] > 1
    ]
    if problems:
        raise InvalidInvoiceFile(sorted(problems, key=lambda problem: problem.line))
    return [invoice for _, invoice in invoices]


def read_invoice_file(path: Path) -> list[Invoice]:
    with path.open("rb") as handle:
        return parse_invoice_lines(handle.read().splitlines())


def load_invoices(store: Store, invoices: list[Invoice], now: int) -> Counter[UpsertOutcome]:
    """Upsert every invoice; paid and currently held invoices are left as they are. Returns the outcomes."""
    outcomes: Counter[UpsertOutcome] = Counter()
    for invoice in invoices:
        outcomes[store.upsert_invoice(invoice, now)] += 1
    return outcomes
