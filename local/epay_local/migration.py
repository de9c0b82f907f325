"""`epay migrate-invoice-ids`: move every invoice from its legacy (unkeyed) id to its keyed id, once.

Releases before issue 9 stored invoices under an unkeyed SHA-256 of code, issuer and number, which anyone who sees
an id beside its issuer and number reverses by trying the 36**4 codes. This one-off operator batch moves them,
and rewrites the lines of payments so that no payment view shows a legacy id any longer:

1. Payments: each one that is no longer live and still names legacy ids gets its lines renamed, in one
   transaction with the moves of those of its invoices still under a legacy id (so its lines and its invoices
   never disagree, and a late gateway success still settles the invoices it names). A live payment is skipped:
   it holds its invoices under the ids it was created with.
2. Invoices: every other invoice still under its legacy id is moved, unless a live payment holds it.

Each move copies the item as stored (a paid invoice stays paid, with its payment and date) and deletes the legacy
one in the same transaction, on condition that it did not change since it was read: nothing is half-written and
no listing shows an invoice twice. The batch reads the table with a `Scan` (acceptable for a one-off batch; no
route ever scans). It is idempotent: what was moved is not found under a legacy id again, so an interrupted run,
or one that left held invoices behind, is simply run again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from epay.adapters.dynamodb.invoices import DynamoInvoiceStore, MoveOutcome
from epay.adapters.dynamodb.payments import DynamoPaymentStore
from epay.invoices import Invoice, invoice_id_for, legacy_invoice_id_for
from epay.payments import Payment
from epay.ports import PaymentChanged
from epay_local.loader import check_invoice_id_key

_ATTEMPTS = 3


@dataclass
class MigrationReport:
    """What a run did, and what it left for a later run or for an operator. Counts only: no id, no code."""

    invoices_moved: int = 0
    invoices_already_keyed: int = 0
    payments_rewritten: int = 0
    # Left for a later run: invoices held by a live payment, live payments still naming legacy ids.
    invoices_held: int = 0
    payments_live: int = 0
    wait_until: int | None = None
    # For an operator: an invoice stored under both ids (a loader of an older release ran after this one), or
    # under an id neither formula gives (made with another key).
    invoices_under_both_ids: int = 0
    invoices_under_unknown_ids: int = 0

    @property
    def complete(self) -> bool:
        return not (
            self.invoices_held or self.payments_live or self.invoices_under_both_ids or self.invoices_under_unknown_ids
        )

    @property
    def needs_operator(self) -> bool:
        return bool(self.invoices_under_both_ids or self.invoices_under_unknown_ids)

    def wait_for(self, instant: int) -> None:
        self.wait_until = instant if self.wait_until is None else max(self.wait_until, instant)

    def count(self, outcome: MoveOutcome) -> None:
        if outcome is MoveOutcome.MOVED:
            self.invoices_moved += 1
        elif outcome is MoveOutcome.TAKEN:
            self.invoices_under_both_ids += 1
        elif outcome is MoveOutcome.HELD:
            self.invoices_held += 1
        else:
            self.invoices_already_keyed += 1


def _ids(invoice: Invoice, id_key: bytes) -> tuple[str, str]:
    identity = (invoice.subscription_code, invoice.issuer.code, invoice.invoice_number)
    return legacy_invoice_id_for(*identity), invoice_id_for(id_key, *identity)


def _legacy_lines(payment: Payment, id_key: bytes) -> dict[str, str]:
    """The payment's lines still naming a legacy id, each with the keyed id of the same invoice."""
    renamed = {}
    for line in payment.lines:
        identity = (payment.subscription_code, payment.issuer.code, line.invoice_number)
        if line.invoice_id == legacy_invoice_id_for(*identity):
            renamed[line.invoice_id] = invoice_id_for(id_key, *identity)
    return renamed


def _with_lines_renamed(payment: Payment, renamed: dict[str, str]) -> Payment:
    lines = tuple(replace(line, invoice_id=renamed.get(line.invoice_id, line.invoice_id)) for line in payment.lines)
    return replace(payment, lines=lines, version=payment.version + 1)


def _migrate_payment(
    invoices: DynamoInvoiceStore,
    payments: DynamoPaymentStore,
    payment: Payment,
    id_key: bytes,
    now: int,
    report: MigrationReport,
) -> set[str]:
    """Rename the lines of a payment that is no longer live, moving its legacy invoices with them.

    Returns the keyed ids of the invoices moved. Those left under a legacy id (held by another, live payment; or
    already stored under both ids) are met again, and reported, by the invoice step.
    """
    current: Payment | None = payment
    for _attempt in range(_ATTEMPTS):
        if current is None:
            return set()
        renamed = _legacy_lines(current, id_key)
        if not renamed:
            return set()
        if current.is_live(now):
            report.payments_live += 1
            report.wait_for(current.expires_at)
            return set()
        try:
            outcomes = invoices.move_invoices(renamed, now, (current, _with_lines_renamed(current, renamed)))
        except PaymentChanged:
            # A callback or a cancel moved it since it was read: read it again, decide again.
            current = payments.get_payment(current.payment_id)
            continue
        report.payments_rewritten += 1
        moved = {renamed[old] for old, outcome in outcomes.items() if outcome is MoveOutcome.MOVED}
        report.invoices_moved += len(moved)
        return moved
    raise PaymentChanged(payment.payment_id)


def migrate_invoice_ids(
    invoices: DynamoInvoiceStore, payments: DynamoPaymentStore, id_key: bytes, now: int
) -> MigrationReport:
    """Move what can be moved now (see the module's description); run again until the report is complete."""
    check_invoice_id_key(invoices, id_key, now)
    report = MigrationReport()
    moved_with_payments: set[str] = set()
    for payment in payments.scan_payments():
        moved_with_payments |= _migrate_payment(invoices, payments, payment, id_key, now, report)
    for invoice in invoices.scan_invoices():
        legacy_id, keyed_id = _ids(invoice, id_key)
        if keyed_id in moved_with_payments:
            continue
        if invoice.invoice_id == keyed_id:
            report.invoices_already_keyed += 1
        elif invoice.invoice_id != legacy_id:
            report.invoices_under_unknown_ids += 1
        elif (hold := invoice.live_hold(now)) is not None:
            report.invoices_held += 1
            report.wait_for(hold.expires_at)
        else:
            # GONE: moved since the scan read it (by a loader): it is under its keyed id now.
            report.count(invoices.move_invoices({legacy_id: keyed_id}, now)[legacy_id])
    return report
