"""In-memory stores implementing `epay.ports`, for fast unit tests of the use cases.

They keep the DynamoDB store's conditions exactly (each change all or nothing, refused by the same conditions and
explained the same way), and `tests/integration/test_store_contract.py` runs one specification against both, so a
fake that drifts from the real store fails there.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from epay.clock import has_lapsed
from epay.evidence import CallbackEvidence
from epay.invoices import Batch, Hold, Invoice, InvoiceStatus, Position, SearchCriteria
from epay.payments import Payment, UnappliedFunds
from epay.ports import (
    MAX_TRANSACTION_ACTIONS,
    EventAlreadyApplied,
    EventAppliedElsewhere,
    FundsAlreadyRecorded,
    InvoiceRefusal,
    InvoicesUnavailable,
    PaymentChanged,
    ReceiptCodeTaken,
    ReferenceTaken,
    TooManyLivePayments,
    UpsertOutcome,
    creation_actions,
)
from epay.receipts import Claim, MailState, ReceiptMail


def _key(invoice: Invoice) -> tuple[str, str]:
    return invoice.position, invoice.invoice_id


def _lapsed(hold: Hold | None, now: int) -> bool:
    return hold is None or has_lapsed(hold.expires_at, now)


class InMemoryInvoices:
    """`InvoiceStore` over a dict, with DynamoDB's paging semantics (Limit counts items read, not matched)."""

    def __init__(self, invoices: list[Invoice] | None = None) -> None:
        self.items: dict[str, Invoice] = {invoice.invoice_id: invoice for invoice in invoices or []}
        self.reads: list[int] = []  # the Limit of every read, to check how much a search reads
        self.lock = threading.RLock()

    @property
    def invoices(self) -> list[Invoice]:
        return list(self.items.values())

    def read_unpaid(self, criteria: SearchCriteria, after: Position | None, limit: int) -> Batch:
        self.reads.append(limit)
        with self.lock:
            # The sparse index: this code's unpaid invoices in key order (issuer narrows the key range).
            index = sorted(
                (
                    invoice
                    for invoice in self.items.values()
                    if invoice.subscription_code == criteria.subscription_code
                    and invoice.status is InvoiceStatus.UNPAID
                    and (criteria.issuer is None or invoice.issuer.code == criteria.issuer)
                ),
                key=_key,
            )
        if criteria.invoice_number is not None:
            # The number index holds every match in one read.
            return Batch([invoice for invoice in index if criteria.matches(invoice)], None)
        if after is not None:
            index = [invoice for invoice in index if _key(invoice) > (after.list_key, after.invoice_id)]
        evaluated = index[:limit]
        matched = [invoice for invoice in evaluated if criteria.matches(invoice)]
        more = len(index) > limit
        resume = Position(evaluated[-1].position, evaluated[-1].invoice_id) if more and evaluated else None
        return Batch(matched, resume)

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        with self.lock:
            return {invoice_id: self.items[invoice_id] for invoice_id in invoice_ids if invoice_id in self.items}

    def upsert_invoice(self, invoice: Invoice, now: int) -> UpsertOutcome:
        with self.lock:
            old = self.items.get(invoice.invoice_id)
            if old is not None and old.status is InvoiceStatus.PAID:
                return UpsertOutcome.KEPT_PAID
            if old is not None and not _lapsed(old.hold, now):
                return UpsertOutcome.KEPT_HELD
            # A lapsed hold stays on the item, as the real store's update leaves it.
            self.items[invoice.invoice_id] = replace(invoice, hold=old.hold if old else None, paid_by=None)
            return UpsertOutcome.WRITTEN


@dataclass
class InMemoryPayments:
    """`PaymentStore` over dicts, sharing the invoices it holds and settles with an `InMemoryInvoices`."""

    invoices: InMemoryInvoices
    payments: dict[str, Payment] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    events: dict[tuple[str, str], str] = field(default_factory=dict)
    evidence: list[CallbackEvidence] = field(default_factory=list)
    unapplied: dict[tuple[str, str], UnappliedFunds] = field(default_factory=dict)
    receipts: dict[str, str] = field(default_factory=dict)  # receipt code -> payment id
    # The outbox: each queued e-mail's state, and until when a claim holds it.
    mail: dict[ReceiptMail, MailState] = field(default_factory=dict)
    mail_leases: dict[ReceiptMail, int] = field(default_factory=dict)
    mail_sent_ids: dict[ReceiptMail, str] = field(default_factory=dict)

    @property
    def lock(self) -> threading.RLock:
        return self.invoices.lock

    # -- reads ------------------------------------------------------------------------------------------------

    def get_payment(self, payment_id: str) -> Payment | None:
        with self.lock:
            return self.payments.get(payment_id)

    def payment_id_for_reference(self, code: str) -> str | None:
        with self.lock:
            return self.references.get(code)

    def payment_id_for_receipt(self, code: str) -> str | None:
        with self.lock:
            return self.receipts.get(code)

    def unapplied_funds(self, payment_id: str) -> list[UnappliedFunds]:
        with self.lock:
            found = [funds for (owner, _), funds in self.unapplied.items() if owner == payment_id]
        return sorted(found, key=lambda funds: (funds.reported_at, funds.fingerprint))

    def due_for_recovery(self, now: int, limit: int) -> list[str]:
        with self.lock:
            due = [
                (payment.recovery.due, payment.payment_id)
                for payment in self.payments.values()
                if payment.recovery.due is not None and payment.recovery.due <= now
            ]
        return [payment_id for _, payment_id in sorted(due)[:limit]]

    def evidence_of(self, payment_id: str | None) -> list[CallbackEvidence]:
        """The evidence kept about a payment (None: about no payment), oldest first."""
        return [item for item in self.evidence if item.payment_id == payment_id]

    # -- changes ----------------------------------------------------------------------------------------------

    def create_payment(
        self, payment: Payment, now: int, live_limit: int | None = None, superseded: Sequence[Payment] = ()
    ) -> None:
        if creation_actions(payment, superseded) > MAX_TRANSACTION_ACTIONS:
            raise ValueError("a creation that supersedes references must fit in one transaction")
        taken = {invoice_id: old.payment_id for old in superseded for invoice_id in old.invoice_ids}
        with self.lock:
            if payment.reference is not None and payment.reference.code in self.references:
                raise ReferenceTaken(payment.reference.code)
            mine = set(payment.invoice_ids)
            for old in superseded:
                stored = self.payments.get(old.payment_id)
                others_held = all(
                    (held := self.invoices.items.get(invoice_id)) is not None
                    and held.hold is not None
                    and held.hold.payment_id == old.payment_id
                    for invoice_id in old.invoice_ids
                    if invoice_id not in mine
                )
                if stored is None or stored.version != old.version or not others_held:
                    raise PaymentChanged(old.payment_id)
            if live_limit is not None:
                ending = {old.payment_id for old in superseded}
                live = [
                    other
                    for other in self.payments.values()
                    if other.subscription_code == payment.subscription_code
                    and other.is_live(now)
                    and other.payment_id not in ending
                ]
                if len(live) >= live_limit:
                    raise TooManyLivePayments(payment.subscription_code, live_limit)
            refusals: dict[str, InvoiceRefusal] = {}
            for line in payment.lines:
                invoice = self.invoices.items.get(line.invoice_id)
                holdable = (
                    invoice is not None
                    and invoice.status is InvoiceStatus.UNPAID
                    and invoice.subscription_code == payment.subscription_code
                    and invoice.issuer.code == payment.issuer.code
                    and invoice.amount == line.amount
                    and (
                        _lapsed(invoice.hold, now)
                        or (invoice.hold is not None and invoice.hold.payment_id == taken.get(line.invoice_id))
                    )
                )
                if not holdable:
                    refusals[line.invoice_id] = _refusal(invoice, line.amount)
            if refusals or payment.payment_id in self.payments:
                raise InvoicesUnavailable(list(refusals), refusals)
            for old in superseded:
                self.payments[old.payment_id] = old.superseded()
                for invoice_id in old.invoice_ids:
                    if invoice_id not in mine:
                        self.invoices.items[invoice_id] = replace(self.invoices.items[invoice_id], hold=None)
            self.payments[payment.payment_id] = payment
            for line in payment.lines:
                held = self.invoices.items[line.invoice_id]
                self.invoices.items[line.invoice_id] = replace(held, hold=Hold(payment.payment_id, payment.expires_at))
            if payment.reference is not None:
                self.references[payment.reference.code] = payment.payment_id

    def settle(
        self,
        payment: Payment,
        settled: Payment,
        now: int,
        evidence: CallbackEvidence,
        event: tuple[str, str] | None = None,
    ) -> None:
        with self.lock:
            refusals: dict[str, InvoiceRefusal] = {}
            for line in payment.lines:
                invoice = self.invoices.items.get(line.invoice_id)
                settleable = (
                    invoice is not None
                    and invoice.status is InvoiceStatus.UNPAID
                    and invoice.amount == line.amount
                    and (
                        (invoice.hold is not None and invoice.hold.payment_id == payment.payment_id)
                        or _lapsed(invoice.hold, now)
                    )
                )
                if not settleable:
                    refusals[line.invoice_id] = _refusal(invoice, line.amount)
            self._check(payment, event, refusals)
            queued = ReceiptMail.queued(payment.payment_id, now)
            if settled.receipt_code and queued in self.mail:
                raise PaymentChanged(payment.payment_id)
            if settled.receipt_code and settled.receipt_code in self.receipts:
                raise ReceiptCodeTaken(payment.payment_id)
            if settled.receipt_code:
                self.receipts[settled.receipt_code] = payment.payment_id
                self.mail[queued] = MailState.PENDING
            for line in payment.lines:
                paid = replace(
                    self.invoices.items[line.invoice_id],
                    status=InvoiceStatus.PAID,
                    hold=None,
                    paid_by=payment.payment_id,
                )
                self.invoices.items[line.invoice_id] = paid
            self._commit(settled, evidence, event)

    def transition(
        self,
        payment: Payment,
        changed: Payment,
        evidence: CallbackEvidence | None,
        release: list[str] | None = None,
        extend_holds_to: int | None = None,
        event: tuple[str, str] | None = None,
    ) -> None:
        with self.lock:
            touched = list(release or []) + (payment.invoice_ids if extend_holds_to is not None else [])
            refusals: dict[str, InvoiceRefusal] = {}
            for invoice_id in touched:
                invoice = self.invoices.items.get(invoice_id)
                if invoice is None or invoice.hold is None or invoice.hold.payment_id != payment.payment_id:
                    refusals[invoice_id] = _refusal(invoice, None)
            self._check(payment, event, refusals)
            for invoice_id in release or []:
                self.invoices.items[invoice_id] = replace(self.invoices.items[invoice_id], hold=None)
            if extend_holds_to is not None:
                for invoice_id in payment.invoice_ids:
                    extended = Hold(payment.payment_id, extend_holds_to)
                    self.invoices.items[invoice_id] = replace(self.invoices.items[invoice_id], hold=extended)
            self._commit(changed, evidence, event)

    def record_evidence(self, evidence: CallbackEvidence) -> bool:
        with self.lock:
            self.evidence.append(evidence)
        return True

    def record_unapplied(self, payment: Payment, funds: UnappliedFunds, evidence: CallbackEvidence) -> None:
        with self.lock:
            key = (payment.payment_id, funds.fingerprint)
            if key in self.unapplied:
                raise FundsAlreadyRecorded(payment.payment_id)
            self.unapplied[key] = funds
            self.evidence.append(evidence)

    # -- the outbox -------------------------------------------------------------------------------------------------

    def claim_mail(self, mail: ReceiptMail, now: int, lease_seconds: int) -> Claim:
        with self.lock:
            state = self.mail.get(mail)
            if state is None:
                return Claim.UNKNOWN
            if state in (MailState.SENT, MailState.FAILED):
                return Claim.DONE
            if state is MailState.SENDING and self.mail_leases[mail] > now:
                return Claim.BUSY
            self.mail[mail] = MailState.SENDING
            self.mail_leases[mail] = now + lease_seconds
            return Claim.CLAIMED

    def mail_sent(self, mail: ReceiptMail, now: int, message_id: str) -> None:
        with self.lock:
            self.mail[mail] = MailState.SENT
            self.mail_sent_ids[mail] = message_id

    def mail_failed(self, mail: ReceiptMail, now: int, reason: str) -> None:
        with self.lock:
            self.mail[mail] = MailState.FAILED

    def release_mail(self, mail: ReceiptMail) -> None:
        with self.lock:
            if self.mail.get(mail) is MailState.SENDING:
                self.mail[mail] = MailState.PENDING
                self.mail_leases.pop(mail, None)

    def mail_state(self, mail: ReceiptMail) -> MailState | None:
        with self.lock:
            return self.mail.get(mail)

    def unsent_mail(self, day: str) -> list[ReceiptMail]:
        with self.lock:
            return sorted(
                (mail for mail, state in self.mail.items() if mail.day == day and state in _UNSENT),
                key=lambda mail: mail.payment_id,
            )

    # -- the transaction's conditions, in the real store's order of precedence ------------------------------------

    def _check(self, payment: Payment, event: tuple[str, str] | None, refusals: dict[str, InvoiceRefusal]) -> None:
        stored = self.payments.get(payment.payment_id)
        if event is not None and event in self.events:
            if self.events[event] != payment.payment_id:
                raise EventAppliedElsewhere(payment.payment_id)
            raise EventAlreadyApplied(payment.payment_id)
        if stored is None or stored.version != payment.version:
            raise PaymentChanged(payment.payment_id)
        if refusals:
            raise InvoicesUnavailable(list(refusals), refusals)

    def _commit(self, changed: Payment, evidence: CallbackEvidence | None, event: tuple[str, str] | None) -> None:
        self.payments[changed.payment_id] = changed
        if event is not None:
            self.events[event] = changed.payment_id
        if evidence is not None:
            self.evidence.append(evidence)


_UNSENT = (MailState.PENDING, MailState.SENDING)


def _refusal(invoice: Invoice | None, amount: object) -> InvoiceRefusal:
    """Why an invoice failed a condition, judged as the real store judges it from the item as it was."""
    if invoice is None:
        return InvoiceRefusal.CHANGED
    if invoice.status is InvoiceStatus.PAID:
        return InvoiceRefusal.PAID
    if amount is not None and invoice.amount != amount:
        return InvoiceRefusal.CHANGED
    return InvoiceRefusal.HELD


@dataclass
class CountingHits:
    """`HitCounter` over a dict (expiry is not simulated: tests move the clock to a new hour instead)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count_hit(self, counter: str, fields: list[str], expires_at: int) -> dict[str, int]:
        counts = self.counts.setdefault(counter, {})
        for name in fields:
            counts[name] = counts.get(name, 0) + 1
        return dict(counts)


def in_memory_stores() -> tuple[InMemoryInvoices, InMemoryPayments]:
    """An invoice store and a payment store sharing their invoices, as the two ports share one table."""
    invoices = InMemoryInvoices()
    return invoices, InMemoryPayments(invoices)


@dataclass
class ProofRecords:
    """`ProofLedger` (`epay.challenge`) over a dict: the records of redeemed proofs, with their expiry."""

    records: dict[str, int] = field(default_factory=dict)

    def claim_once(self, key: str, expires_at: int) -> bool:
        if key in self.records:
            return False
        self.records[key] = expires_at
        return True
