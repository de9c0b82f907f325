"""The small protocols the use cases talk to, and what they may raise.

Each aggregate has its own store: invoices, payments (with their callback evidence and unapplied funds), counters.
`epay.adapters.dynamodb` implements them over DynamoDB, one module per aggregate; `tests/support/fakes.py` implements
them in memory, and `tests/integration/test_store_contract.py` runs the same specification against both. Every
method that changes several items is all-or-nothing, and its conditions are the state machine's: an exception below
means nothing was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from epay.evidence import CallbackEvidence
from epay.invoices import Batch, Invoice, Position, SearchCriteria
from epay.payments import Payment, UnappliedFunds
from epay.ratelimit import HitCounter
from epay.receipts import Claim, MailState, ReceiptMail

__all__ = [
    "MAX_TRANSACTION_ACTIONS",
    "EventAlreadyApplied",
    "EventAppliedElsewhere",
    "FundsAlreadyRecorded",
    "HitCounter",
    "InvoiceRefusal",
    "InvoiceStore",
    "InvoicesUnavailable",
    "PaymentChanged",
    "PaymentStore",
    "ReceiptCodeTaken",
    "ReceiptOutbox",
    "ReferenceTaken",
    "TooManyLivePayments",
    "UpsertOutcome",
    "creation_actions",
    "held_by",
]


# DynamoDB's bound on one transaction's actions: a creation that supersedes references counts the payment, its slot,
# its invoices, each superseded payment and each of their other holds.
MAX_TRANSACTION_ACTIONS = 100


def creation_actions(payment: Payment, superseded: Sequence[Payment]) -> int:
    """How many actions the creation of `payment` taking over `superseded` writes in its one transaction."""
    mine = set(payment.invoice_ids)
    others = sum(1 for old in superseded for invoice_id in old.invoice_ids if invoice_id not in mine)
    return 2 + len(payment.lines) + len(superseded) + others + (1 if payment.reference else 0)


class InvoiceRefusal(StrEnum):
    """Why an invoice failed a hold or settlement condition, read from the item as it was."""

    PAID = "paid"
    HELD = "held by another payment"
    CHANGED = "changed since the payment was created"


class InvoicesUnavailable(Exception):
    """Some invoices failed a hold or settlement condition (paid, held by another payment, changed)."""

    def __init__(self, invoice_ids: list[str], refusals: dict[str, InvoiceRefusal] | None = None) -> None:
        super().__init__(f"{len(invoice_ids)} invoice(s) unavailable")
        self.invoice_ids = invoice_ids
        self.refusals = refusals or {}

    @property
    def changed(self) -> bool:
        """True when an invoice was reloaded with another amount (or withdrawn), not merely paid or held."""
        return InvoiceRefusal.CHANGED in self.refusals.values()


class TooManyLivePayments(Exception):
    """The subscription code already has its limit of live payments (`EPAY_LIVE_PAYMENTS_PER_CODE`): nothing written."""

    def __init__(self, subscription_code: str, limit: int) -> None:
        super().__init__(f"{limit} live payment(s) already")
        self.subscription_code = subscription_code
        self.limit = limit


class ReferenceTaken(Exception):
    """The payment reference drawn at random is already used."""


class ReceiptCodeTaken(Exception):
    """The receipt code drawn for a settlement is already another payment's: nothing was written, draw another."""


class PaymentChanged(Exception):
    """The payment moved since it was read (a concurrent callback or cancel): read again, decide again."""


class EventAlreadyApplied(PaymentChanged):
    """This gateway event was already applied to this payment (a concurrent copy won): read again, decide again."""


class EventAppliedElsewhere(Exception):
    """This gateway event (a Fatourati bank transaction) was already applied to another payment: final."""


class FundsAlreadyRecorded(Exception):
    """These unapplied funds (same gateway report) were already recorded on the payment."""


class UpsertOutcome(StrEnum):
    WRITTEN = "written"
    KEPT_PAID = "kept: already paid"
    KEPT_HELD = "kept: held by a payment in progress"
    MOVED = "written (moved from its legacy id)"


class InvoiceStore(Protocol):
    """Invoices: the unpaid listing, reads by id, and the issuers' loads."""

    def read_unpaid(self, criteria: SearchCriteria, after: Position | None, limit: int) -> Batch:
        """One read of a subscription's unpaid invoices in listing order, from after `after`."""
        ...

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        """The invoices that exist among `invoice_ids`, read consistently."""
        ...

    def upsert_invoice(self, invoice: Invoice, now: int) -> UpsertOutcome:
        """Create or refresh an invoice; never alters a paid or currently held one."""
        ...


class PaymentStore(Protocol):
    """Payments, their holds on invoices, their references, applied gateway events and callback evidence."""

    def create_payment(
        self, payment: Payment, now: int, live_limit: int | None = None, superseded: Sequence[Payment] = ()
    ) -> None:
        """The payment and a hold on each invoice, all or nothing (`InvoicesUnavailable`, `ReferenceTaken`).

        `superseded` are unpaid reference payments (as read) whose holds on some of these invoices the payment takes
        over (api.md §8): in the same transaction each becomes `CANCELLED` (`Payment.superseded`) and releases its
        other holds; `PaymentChanged` when one moved since it was read. At most `MAX_TRANSACTION_ACTIONS` actions.

        With `live_limit`, the payment is also one of at most that many live payments of its subscription code, even
        under concurrent creations (`TooManyLivePayments`): a payment stops counting once it is no longer live (ended,
        or its hold lapsed).
        """
        ...

    def get_payment(self, payment_id: str) -> Payment | None:
        """One payment, read consistently."""
        ...

    def payment_id_for_reference(self, code: str) -> str | None:
        """Which payment a reference belongs to."""
        ...

    def payment_id_for_receipt(self, code: str) -> str | None:
        """Which payment a receipt code was given to."""
        ...

    def settle(
        self,
        payment: Payment,
        settled: Payment,
        now: int,
        evidence: CallbackEvidence,
        event: tuple[str, str] | None = None,
    ) -> None:
        """The payment and every invoice `PAID`, from the version read, and with a receipt code (`settled`'s): the
        code kept unique and the receipt's e-mail queued in the outbox, in the same transaction (`PaymentChanged`,
        `InvoicesUnavailable`, `EventAlreadyApplied`, `EventAppliedElsewhere`, and `ReceiptCodeTaken` when nothing
        else failed)."""
        ...

    def transition(
        self,
        payment: Payment,
        changed: Payment,
        evidence: CallbackEvidence | None,
        release: list[str] | None = None,
        extend_holds_to: int | None = None,
        event: tuple[str, str] | None = None,
    ) -> None:
        """The payment moved from the version read, its own holds released or extended, atomically."""
        ...

    def record_evidence(self, evidence: CallbackEvidence) -> bool:
        """Keep a callback that changed nothing; False when it was only counted."""
        ...

    def record_unapplied(self, payment: Payment, funds: UnappliedFunds, evidence: CallbackEvidence) -> None:
        """Keep, once per gateway report, money that settles nothing (`FundsAlreadyRecorded`)."""
        ...

    def unapplied_funds(self, payment_id: str) -> list[UnappliedFunds]:
        """The unapplied funds recorded on a payment, oldest first."""
        ...

    def due_for_recovery(self, now: int, limit: int) -> list[str]:
        """Up to `limit` ids of payments whose recovery check is due (`recovery.due <= now`), earliest due first:
        read from the recovery index (never a Scan), so the cost grows with the payments due, not with the table."""
        ...


class ReceiptOutbox(Protocol):
    """The receipt e-mails the settlements queued (`PaymentStore.settle`), and what the mailer did with each.

    Sending is claimed first (a conditional write), so two mailers never both send one; an entry that SES accepted
    (`SENT`) or refused for good (`FAILED`) is never claimed again.
    """

    def claim_mail(self, mail: ReceiptMail, now: int, lease_seconds: int) -> Claim:
        """Take the e-mail for sending until `now + lease_seconds` (or say why not)."""
        ...

    def mail_sent(self, mail: ReceiptMail, now: int, message_id: str) -> None:
        """SES accepted it."""
        ...

    def mail_failed(self, mail: ReceiptMail, now: int, reason: str) -> None:
        """SES refused it for good."""
        ...

    def release_mail(self, mail: ReceiptMail) -> None:
        """SES did not take it: queued again, for the next attempt."""
        ...

    def mail_state(self, mail: ReceiptMail) -> MailState | None:
        """Where it stands (None: never queued)."""
        ...

    def unsent_mail(self, day: str) -> list[ReceiptMail]:
        """The entries of `day` (UTC) neither sent nor refused."""
        ...


def held_by(invoices: InvoiceStore, payment: Payment) -> list[str]:
    """The payment's invoices that it still holds (the others were freed, or taken after its hold lapsed)."""
    found = invoices.get_invoices(payment.invoice_ids)
    return [
        invoice_id
        for invoice_id, invoice in found.items()
        if invoice.hold is not None and invoice.hold.payment_id == payment.payment_id
    ]
