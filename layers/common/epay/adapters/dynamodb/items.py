"""Items of the main table and the domain objects they hold: keys, and one mapping each way per item kind.

Values are put in DynamoDB's typed form, and read back from it, by one small codec (`codec.py`, held to boto3's
`TypeSerializer` by its tests); nothing here builds `{"S": …}` by hand. Numbers are read as `int` (amounts are
integer centimes, instants epoch seconds), exactly, and a fraction is refused; no number ever becomes a float. The
attribute names and types are docs/data-model.md's, the same as every earlier release wrote
(`tests/integration/test_stored_items.py` reads items captured from them).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from datetime import date
from typing import Any

from epay.adapters.dynamodb.codec import from_attribute, to_attribute
from epay.evidence import CallbackEvidence, EvidenceSource
from epay.invoices import Hold, Invoice, InvoiceStatus, Issuer, search_text
from epay.money import Money
from epay.payments import (
    Capture,
    Payer,
    Payment,
    PaymentLine,
    PaymentStatus,
    Recovery,
    Reference,
    Reversal,
    ReversalAction,
    UnappliedFunds,
    UnappliedReason,
)
from epay.receipts import MailState, ReceiptMail

Item = dict[str, dict[str, Any]]
INVOICE_SK = "INVOICE"
PAYMENT_SK = "PAYMENT"
# Evidence of callbacks that name no known payment (forged, mistyped, probes) is spread over shards so no partition
# runs hot, and expires after EVIDENCE_TTL_SECONDS (the table's TTL attribute); nothing else expires.
EVIDENCE_TTL_SECONDS = 90 * 86_400
UNMATCHED_SHARDS = 16
TTL_ATTRIBUTE = "purge_at"
# The recovery index (`RecoveryIndex` in template.yaml): sparse, one partition, sorted by when each payment is next
# due for a check. Only payments with something left to ask or do carry these two attributes.
RECOVERY_INDEX = "RecoveryIndex"
RECOVERY_PARTITION = "RECOVERY"


def marshal(attributes: Mapping[str, object]) -> Item:
    """`attributes` in DynamoDB's typed form; a `None` value is left out (the attribute is absent)."""
    return {name: to_attribute(value) for name, value in attributes.items() if value is not None}


class Attributes:
    """A stored item's attributes, each read back into Python (`codec.from_attribute`) when asked for, with the type
    it must have. Nested maps are read whole."""

    __slots__ = ("_attributes", "_typed")

    def __init__(self, attributes: Mapping[str, Any], *, typed: bool = True) -> None:
        self._attributes = attributes
        self._typed = typed

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Attributes:
        """The attributes of an item as DynamoDB returns it (each value in its typed form)."""
        return cls(item)

    def _value(self, name: str) -> Any:
        value = self._attributes[name]
        return from_attribute(value) if self._typed else value

    def __contains__(self, name: str) -> bool:
        return name in self._attributes

    def __bool__(self) -> bool:
        return bool(self._attributes)

    def text(self, name: str) -> str:
        value = self._value(name)
        if not isinstance(value, str):
            raise TypeError(f"{name} is not a string")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self._attributes else None

    def whole(self, name: str) -> int:
        """A number that must be an integer, exactly."""
        return _whole(name, self._value(name))

    def optional_whole(self, name: str) -> int | None:
        return self.whole(name) if name in self._attributes else None

    def whole_numbers(self) -> dict[str, int]:
        """Every number attribute, each as an `int`."""
        values = {name: self._value(name) for name in self._attributes}
        return {name: _whole(name, value) for name, value in values.items() if _is_number(value)}

    def map(self, name: str) -> Attributes:
        value = self._value(name)
        if not isinstance(value, dict):
            raise TypeError(f"{name} is not a map")
        return Attributes(value, typed=False)

    def maps(self, name: str) -> list[Attributes]:
        value = self._value(name)
        if not isinstance(value, list) or not all(isinstance(element, dict) for element in value):
            raise TypeError(f"{name} is not a list of maps")
        return [Attributes(element, typed=False) for element in value]


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} is not a whole number")
    return value


# -- keys -----------------------------------------------------------------------------------------------------


def invoice_key(invoice_id: str) -> Item:
    """The key of an invoice (`INVOICE#<id>` / `INVOICE`)."""
    return marshal({"pk": f"INVOICE#{invoice_id}", "sk": INVOICE_SK})


def payment_partition(payment_id: str) -> str:
    """`pk` of a payment, and of its evidence and unapplied funds beside it."""
    return f"PAYMENT#{payment_id}"


def payment_key(payment_id: str) -> Item:
    """The key of a payment (`PAYMENT#<id>` / `PAYMENT`)."""
    return marshal({"pk": payment_partition(payment_id), "sk": PAYMENT_SK})


LIVE_SLOT_PREFIX = "SLOT#"


def live_partition(subscription_code: str) -> str:
    """The partition of a subscription code's live-payment slots (`LIVE#<code>`)."""
    return f"LIVE#{subscription_code}"


def live_slot_key(subscription_code: str, slot: int) -> Item:
    """One live-payment slot of a subscription code: `LIVE#<code>` / `SLOT#<n>`, n from 1."""
    return marshal({"pk": live_partition(subscription_code), "sk": f"{LIVE_SLOT_PREFIX}{slot}"})


def reference_key(code: str) -> Item:
    """The key of a payment reference (`REFERENCE#<code>` / `REFERENCE`)."""
    return marshal({"pk": f"REFERENCE#{code}", "sk": "REFERENCE"})


def event_key(gateway: str, event_id: str) -> Item:
    """An applied gateway event. Its id's scope is the gateway's: the caller qualifies ids unique only per order."""
    return marshal({"pk": f"EVENT#{gateway}#{event_id}", "sk": "EVENT"})


def subscription_partition(code: str) -> str:
    """`list_pk` of a subscription's unpaid invoices (both sparse indexes)."""
    return f"SUB#{code}"


# -- invoices -------------------------------------------------------------------------------------------------


def invoice_attributes(invoice: Invoice, now: int) -> dict[str, object]:
    """What loading an invoice stores besides its key: the file's values, and `list_pk`/`list_sk` only while it is
    unpaid (they put it in the sparse indexes). None marks an attribute the load removes. A hold or a payment is
    never the file's: payments write those."""
    unpaid = invoice.status is InvoiceStatus.UNPAID
    return {
        "subscription_code": invoice.subscription_code,
        "invoice_number": invoice.invoice_number,
        "issuer_code": invoice.issuer.code,
        "issuer_name": invoice.issuer.name,
        "issue_date": invoice.issue_date.isoformat(),
        "amount": invoice.amount.centimes,
        "currency": "MAD",
        "description": invoice.description,
        "status": invoice.status.value,
        "search_text": search_text(invoice),
        "invoice_id": invoice.invoice_id,
        "entity": "INVOICE",
        "updated_at": now,
        "due_date": invoice.due_date.isoformat() if invoice.due_date is not None else None,
        "list_pk": subscription_partition(invoice.subscription_code) if unpaid else None,
        "list_sk": invoice.position if unpaid else None,
    }


def invoice_from_item(item: Item) -> Invoice:
    """Rebuild the domain invoice from its stored attributes."""
    stored = Attributes.of(item)
    hold = None
    if "hold_payment_id" in stored and "hold_expires_at" in stored:
        hold = Hold(stored.text("hold_payment_id"), stored.whole("hold_expires_at"))
    due = stored.optional_text("due_date")
    return Invoice(
        invoice_id=stored.text("invoice_id"),
        subscription_code=stored.text("subscription_code"),
        invoice_number=stored.text("invoice_number"),
        issuer=Issuer(stored.text("issuer_code"), stored.text("issuer_name")),
        issue_date=date.fromisoformat(stored.text("issue_date")),
        due_date=date.fromisoformat(due) if due else None,
        amount=Money(stored.whole("amount")),
        description=stored.optional_text("description") or "",
        status=InvoiceStatus(stored.text("status")),
        hold=hold,
        paid_by=stored.optional_text("paid_payment_id"),
    )


# -- payments -------------------------------------------------------------------------------------------------


def lines_value(lines: tuple[PaymentLine, ...]) -> list[dict[str, object]]:
    """A payment's lines as the `lines` attribute holds them (a list of maps)."""
    return [
        {"invoice_id": line.invoice_id, "invoice_number": line.invoice_number, "amount": line.amount.centimes}
        for line in lines
    ]


def payment_item(payment: Payment) -> Item:
    """The whole payment item; optional attributes are absent when unset."""
    reference = payment.reference
    return payment_key(payment.payment_id) | marshal(
        {
            "entity": "PAYMENT",
            "payment_id": payment.payment_id,
            "subscription_code": payment.subscription_code,
            "issuer_code": payment.issuer.code,
            "issuer_name": payment.issuer.name,
            "gateway": payment.gateway,
            "method": payment.method,
            "lines": lines_value(payment.lines),
            "amount": payment.amount.centimes,
            "currency": "MAD",
            "payer": {"name": payment.payer.name, "email": payment.payer.email, "phone": payment.payer.phone},
            "lang": payment.lang,
            "status": payment.status.value,
            "created_at": payment.created_at,
            "expires_at": payment.expires_at,
            "version": payment.version,
            "paid_at": payment.paid_at,
            # Unset texts (None or empty) are not stored: an absent one reads back as None.
            "gateway_transaction_id": payment.gateway_transaction_id or None,
            "reference_code": reference.code if reference else None,
            "reference_expires_at": reference.expires_at if reference else None,
            "last_error": payment.last_error or None,
            "review_reason": payment.review_reason or None,
            "settled_by": payment.settled_by or None,
            "capture": payment.capture.value if payment.capture else None,
            "reversal": _reversal_value(payment.reversal),
            "receipt_code": payment.receipt_code or None,
            "live_slot": payment.live_slot,
            **_recovery_values(payment.recovery),
        }
    )


def _reversal_value(reversal: Reversal | None) -> dict[str, object] | None:
    if reversal is None:
        return None
    return {"action": reversal.action.value, "at": reversal.at, "reason": reversal.reason}


def _recovery_values(recovery: Recovery) -> dict[str, object]:
    """The recovery bookkeeping; `recovery_pk`/`recovery_due` only while a check is due (the sparse index)."""
    due = recovery.due
    return {
        "recovery_pk": RECOVERY_PARTITION if due is not None else None,
        "recovery_due": due,
        "recovery_checks": recovery.checks or None,
        "recovery_unresolved_since": recovery.unresolved_since,
        "reversal_attempts": recovery.reversal_attempts or None,
    }


def _recovery_from(stored: Attributes) -> Recovery:
    return Recovery(
        due=stored.optional_whole("recovery_due"),
        checks=stored.optional_whole("recovery_checks") or 0,
        unresolved_since=stored.optional_whole("recovery_unresolved_since"),
        reversal_attempts=stored.optional_whole("reversal_attempts") or 0,
    )


def _reversal_from(stored: Attributes) -> Reversal | None:
    if "reversal" not in stored:
        return None
    reversal = stored.map("reversal")
    return Reversal(ReversalAction(reversal.text("action")), reversal.whole("at"), reversal.text("reason"))


def payment_from_item(item: Item) -> Payment:
    """Rebuild the domain payment from its stored attributes."""
    stored = Attributes.of(item)
    reference = None
    if "reference_code" in stored:
        reference = Reference(stored.text("reference_code"), stored.whole("reference_expires_at"))
    payer = stored.map("payer")
    return Payment(
        payment_id=stored.text("payment_id"),
        subscription_code=stored.text("subscription_code"),
        issuer=Issuer(stored.text("issuer_code"), stored.text("issuer_name")),
        gateway=stored.text("gateway"),
        method=stored.text("method"),
        lines=tuple(
            PaymentLine(line.text("invoice_id"), line.text("invoice_number"), Money(line.whole("amount")))
            for line in stored.maps("lines")
        ),
        amount=Money(stored.whole("amount")),
        payer=Payer(payer.text("name"), payer.text("email"), payer.text("phone")),
        lang=stored.text("lang"),
        status=PaymentStatus(stored.text("status")),
        created_at=stored.whole("created_at"),
        expires_at=stored.whole("expires_at"),
        paid_at=stored.optional_whole("paid_at"),
        gateway_transaction_id=stored.optional_text("gateway_transaction_id"),
        reference=reference,
        last_error=stored.optional_text("last_error"),
        review_reason=stored.optional_text("review_reason"),
        version=stored.whole("version"),
        settled_by=stored.optional_text("settled_by"),
        capture=Capture(stored.text("capture")) if "capture" in stored else None,
        reversal=_reversal_from(stored),
        recovery=_recovery_from(stored),
        receipt_code=stored.optional_text("receipt_code"),
        live_slot=stored.optional_whole("live_slot"),
    )


def reference_item(payment: Payment, reference: Reference) -> Item:
    """A reference, which keeps its code unique and leads a bank's or agency's callback to its payment."""
    return reference_key(reference.code) | marshal(
        {"payment_id": payment.payment_id, "expires_at": reference.expires_at}
    )


def receipt_key(code: str) -> Item:
    """The key of a receipt code (`RECEIPT#<code>` / `RECEIPT`)."""
    return marshal({"pk": f"RECEIPT#{code}", "sk": "RECEIPT"})


def receipt_item(payment_id: str, code: str) -> Item:
    """A receipt code, which keeps it unique and leads a verification to its payment (and nothing else)."""
    return receipt_key(code) | marshal({"entity": "RECEIPT", "payment_id": payment_id})


# The outbox of receipt e-mails: one partition a day (UTC), so a day's unsent ones are one Query away.
OUTBOX_PREFIX = "OUTBOX#"
RECEIPT_MAIL_PREFIX = "RECEIPT_MAIL#"


def mail_key(mail: ReceiptMail) -> Item:
    """The key of a receipt's e-mail in the outbox (`OUTBOX#<day>` / `RECEIPT_MAIL#<payment id>`)."""
    return marshal({"pk": OUTBOX_PREFIX + mail.day, "sk": RECEIPT_MAIL_PREFIX + mail.payment_id})


def mail_item(mail: ReceiptMail, queued_at: int) -> Item:
    """A receipt's e-mail queued by its payment's settlement; the mailer is fed its insertion (DynamoDB Streams)."""
    return mail_key(mail) | marshal(
        {"entity": "MAIL", "payment_id": mail.payment_id, "state": MailState.PENDING.value, "queued_at": queued_at}
    )


def mail_from_key(key: Mapping[str, Any]) -> ReceiptMail | None:
    """The outbox entry a key names (as a stream record carries it), or None for any other item."""
    stored = Attributes.of(key)
    if "pk" not in stored or "sk" not in stored:
        return None
    pk, sk = stored.text("pk"), stored.text("sk")
    if not (pk.startswith(OUTBOX_PREFIX) and sk.startswith(RECEIPT_MAIL_PREFIX)):
        return None
    return ReceiptMail(sk.removeprefix(RECEIPT_MAIL_PREFIX), pk.removeprefix(OUTBOX_PREFIX))


def event_item(gateway: str, event_id: str, payment_id: str) -> Item:
    """A gateway event applied to a payment, which keeps it from being applied twice (or to another payment)."""
    return event_key(gateway, event_id) | marshal({"payment_id": payment_id})


# -- callback evidence and unapplied funds --------------------------------------------------------------------


def unmatched_partition(evidence: CallbackEvidence) -> str:
    """Where evidence naming no payment goes: one of `UNMATCHED_SHARDS` partitions of its day."""
    day = time.strftime("%Y-%m-%d", time.gmtime(evidence.received_at_ms // 1000))
    shard = int(evidence.body_sha256[:8], 16) % UNMATCHED_SHARDS
    return f"CALLBACK#UNMATCHED#{day}#{shard:02d}"


def evidence_item(evidence: CallbackEvidence) -> Item:
    """A callback kept for audit: beside its payment, or (naming none) in an unmatched partition, expiring."""
    owner = payment_partition(evidence.payment_id) if evidence.payment_id else unmatched_partition(evidence)
    return marshal(
        {
            "pk": owner,
            "sk": f"CALLBACK#{evidence.received_at_ms:015d}#{secrets.token_hex(4)}",
            "entity": "CALLBACK",
            "gateway": evidence.gateway,
            "received_at_ms": evidence.received_at_ms,
            "body_sha256": evidence.body_sha256,
            "verified": evidence.verified,
            "decision": evidence.decision,
            "answer_status": evidence.answer_status,
            TTL_ATTRIBUTE: None if evidence.payment_id else evidence.received_at_ms // 1000 + EVIDENCE_TTL_SECONDS,
            "notification": evidence.notification or None,
            # Absent for callbacks, as every earlier release wrote them.
            "source": evidence.source.value if evidence.source is not EvidenceSource.CALLBACK else None,
        }
    )


def unapplied_sort_key(fingerprint: str) -> str:
    """`sk` of unapplied funds: one item per gateway report (its fingerprint), so a report is recorded once."""
    return "UNAPPLIED#" + hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:32]


def unapplied_item(payment_id: str, funds: UnappliedFunds) -> Item:
    """Money a gateway reported taken that settles nothing, beside the payment it names."""
    return marshal(
        {
            "pk": payment_partition(payment_id),
            "sk": unapplied_sort_key(funds.fingerprint),
            "entity": "UNAPPLIED",
            "gateway": funds.gateway,
            "transaction_id": funds.transaction_id,
            "currency": funds.currency,
            "reported_at": funds.reported_at,
            "reason": funds.reason.value,
            "fingerprint": funds.fingerprint,
            "amount": funds.amount.centimes if funds.amount is not None else None,
        }
    )


def unapplied_from_item(item: Item) -> UnappliedFunds:
    """Rebuild the domain's unapplied funds from their stored attributes."""
    stored = Attributes.of(item)
    amount = stored.optional_whole("amount")
    return UnappliedFunds(
        gateway=stored.text("gateway"),
        transaction_id=stored.text("transaction_id"),
        amount=Money(amount) if amount is not None else None,
        currency=stored.text("currency"),
        reported_at=stored.whole("reported_at"),
        reason=UnappliedReason(stored.text("reason")),
        fingerprint=stored.text("fingerprint"),
    )
