"""Invoices, their holds, and the search for a subscription's unpaid invoices."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from epay.clock import has_lapsed
from epay.money import Money


class InvoiceStatus(StrEnum):
    UNPAID = "UNPAID"
    PAID = "PAID"


@dataclass(frozen=True, slots=True)
class Issuer:
    """The émetteur of an invoice (ANP, Marsa Maroc, ...)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Hold:
    """A live payment's claim on an invoice, until `expires_at` (epoch seconds); read lazily, never swept."""

    payment_id: str
    expires_at: int

    def is_live(self, now: int) -> bool:
        return not has_lapsed(self.expires_at, now)


INVOICE_ID_DIGEST_BYTES = 20


def _invoice_id(digest: bytes) -> str:
    return "inv-" + base64.b32encode(digest[:INVOICE_ID_DIGEST_BYTES]).decode("ascii").lower()


def invoice_id_for(key: bytes, subscription_code: str, issuer_code: str, invoice_number: str) -> str:
    """The stable, opaque id of an invoice: a keyed digest of its subscription, issuer and number.

    Keyed (HMAC-SHA256 with the invoice-id key), because an id is shown beside its issuer and number (payment views,
    cursors): with an unkeyed digest, trying the 36**4 codes gives the subscription code back in a second. Only
    whoever loads invoices holds the key; the functions read the ids stored with the invoices.
    """
    message = f"{subscription_code}|{issuer_code}|{invoice_number}".encode()
    return _invoice_id(hmac.new(key, message, hashlib.sha256).digest())


def legacy_invoice_id_for(subscription_code: str, issuer_code: str, invoice_number: str) -> str:
    """The unkeyed id that releases before issue 9 gave an invoice (SHA-256, reversible by trying every code).

    Kept only so that the loader and `epay migrate-invoice-ids` can find invoices still stored under it and move
    them to their keyed id; nothing new is ever stored under it.
    """
    return _invoice_id(hashlib.sha256(f"{subscription_code}|{issuer_code}|{invoice_number}".encode()).digest())


def invoice_id_key_fingerprint(key: bytes) -> str:
    """A tag of the invoice-id key, kept in the table, that tells a loader holding another key to stop.

    Loading a file with another key would store every invoice a second time under other ids. The tag reveals no
    more about the key than any invoice id does.
    """
    return hmac.new(key, b"invoice-id-key-check", hashlib.sha256).hexdigest()[:32]


def list_position(issuer_code: str, issue_date: date, invoice_number: str) -> str:
    """The sort key of the unpaid listing: issuer, then issue date, then invoice number (the contract's order).

    `#` sorts before every character allowed in issuer codes and dates, so the key order is the contract's order.
    """
    return f"{issuer_code}#{issue_date.isoformat()}#{invoice_number}"


@dataclass(frozen=True, slots=True)
class Invoice:
    """An operator's invoice as stored: amount in centimes, paid or not, perhaps held by a payment.

    `invoice_id` is given, never derived here: the loader computes it with the invoice-id key (`invoice_id_for`),
    and everything else reads it from the store (an invoice not yet migrated keeps its legacy id).
    """

    invoice_id: str
    subscription_code: str
    invoice_number: str
    issuer: Issuer
    issue_date: date
    due_date: date | None
    amount: Money
    description: str
    status: InvoiceStatus = InvoiceStatus.UNPAID
    hold: Hold | None = None
    paid_by: str | None = None

    @property
    def position(self) -> str:
        return list_position(self.issuer.code, self.issue_date, self.invoice_number)

    def live_hold(self, now: int) -> Hold | None:
        """The hold, if a payment still holds this invoice at `now`."""
        return self.hold if self.hold is not None and self.hold.is_live(now) else None

    def is_payable(self, now: int) -> bool:
        return self.status is InvoiceStatus.UNPAID and self.live_hold(now) is None


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    """What the payer asked for: one subscription's unpaid invoices, narrowed by the optional filters."""

    subscription_code: str
    invoice_number: str | None = None
    issuer: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    min_amount: Money | None = None
    max_amount: Money | None = None
    text: str | None = None

    @property
    def needs_filtering(self) -> bool:
        """True when some criterion is not a key condition, so a read may return fewer matches than items."""
        dates_in_key = self.issuer is not None
        return any(
            (
                self.invoice_number is not None,
                not dates_in_key and (self.issued_from is not None or self.issued_to is not None),
                self.min_amount is not None,
                self.max_amount is not None,
                self.text is not None,
            )
        )

    def binding(self) -> str:
        """A canonical text of the whole search, which a cursor is bound to."""
        parts = [
            self.subscription_code,
            self.invoice_number or "",
            self.issuer or "",
            self.issued_from.isoformat() if self.issued_from else "",
            self.issued_to.isoformat() if self.issued_to else "",
            str(self.min_amount.centimes) if self.min_amount else "",
            str(self.max_amount.centimes) if self.max_amount else "",
            (self.text or "").lower(),
        ]
        return "\x1f".join(parts)

    def matches(self, invoice: Invoice) -> bool:
        """The reference semantics of the search, which the store's key conditions and filters implement."""
        if invoice.subscription_code != self.subscription_code or invoice.status is not InvoiceStatus.UNPAID:
            return False
        if self.invoice_number is not None and invoice.invoice_number != self.invoice_number:
            return False
        if self.issuer is not None and invoice.issuer.code != self.issuer:
            return False
        if self.issued_from is not None and invoice.issue_date < self.issued_from:
            return False
        if self.issued_to is not None and invoice.issue_date > self.issued_to:
            return False
        if self.min_amount is not None and invoice.amount < self.min_amount:
            return False
        if self.max_amount is not None and invoice.amount > self.max_amount:
            return False
        return self.text is None or self.text.lower() in search_text(invoice)


def search_text(invoice: Invoice) -> str:
    """What the `text` filter looks in: the invoice number and description, lower-cased."""
    return f"{invoice.invoice_number}\n{invoice.description}".lower()


@dataclass(frozen=True, slots=True)
class Position:
    """Where a listing stopped: the last invoice returned."""

    list_key: str
    invoice_id: str


@dataclass(frozen=True, slots=True)
class Batch:
    """One read of the unpaid listing: the matching invoices, and where the read stopped if data remains."""

    invoices: list[Invoice]
    resume_after: Position | None


class UnpaidInvoiceReader(Protocol):
    """The store's side of the search (implemented over DynamoDB; faked in unit tests)."""

    def read_unpaid(
        self, criteria: SearchCriteria, after: Position | None, limit: int
    ) -> Batch:  # pragma: no cover - protocol
        ...


FILTERED_READ_SIZE = 100


@dataclass(frozen=True, slots=True)
class Page:
    invoices: list[Invoice]
    last: Position | None  # set when more matching invoices follow the page


def _order(invoice: Invoice) -> tuple[str, str]:
    return invoice.position, invoice.invoice_id


def _beyond(invoices: list[Invoice], after: Position | None) -> list[Invoice]:
    """The invoices strictly after `after`'s position. A position names one invoice of a code (issuer, date,
    number), so an invoice read again at the cursor's own position is the last one returned, moved since to
    another id (`epay migrate-invoice-ids`): DynamoDB resumes after the old id, and would list it twice."""
    return invoices if after is None else [invoice for invoice in invoices if invoice.position > after.list_key]


def find_unpaid(reader: UnpaidInvoiceReader, criteria: SearchCriteria, after: Position | None, size: int) -> Page:
    """One page of matching unpaid invoices, in contract order, starting after `after`.

    Reads until the page is full and one more match proves a next page exists (so a cursor never leads to an
    empty page), or the data ends. Without filters, one read of `size + 1` items does it.
    """
    wanted = size + 1
    if criteria.invoice_number is not None:
        # One read of the number index holds every match (a handful): order and page them here.
        matches = _beyond(sorted(reader.read_unpaid(criteria, None, FILTERED_READ_SIZE).invoices, key=_order), after)
        if len(matches) > size:
            last = matches[size - 1]
            return Page(matches[:size], Position(last.position, last.invoice_id))
        return Page(matches, None)
    found: list[Invoice] = []
    cursor = after
    while len(found) < wanted:
        limit = max(wanted - len(found), FILTERED_READ_SIZE) if criteria.needs_filtering else wanted - len(found)
        batch = reader.read_unpaid(criteria, cursor, limit)
        found.extend(_beyond(batch.invoices, after))
        if batch.resume_after is None:
            break
        cursor = batch.resume_after
    if len(found) > size:
        page = found[:size]
        last = page[-1]
        return Page(page, Position(last.position, last.invoice_id))
    return Page(found, None)
