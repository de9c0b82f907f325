"""Gateway callbacks (api.md §6, gateways.md): verify first, then apply a whole state change or none of it.

Each gateway's front half (verify, parse, answer in the gateway's format) is a method here; the back half is one
engine, `_apply`, shared by all three: it reads the payment, decides by its state, and writes the change and the
evidence in one conditional transaction, deciding again if a concurrent callback moved the payment first.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from epay.clock import iso_instant
from epay.config import Settings
from epay.error_catalogue import declined_last_error
from epay.errors import StoreUnavailable
from epay.evidence import CallbackEvidence
from epay.gateways import cmi, fatourati, m2t
from epay.money import Money
from epay.observability import logger, metrics
from epay.payment_service import GatewaySecrets, checkout_of, endpoints_of, held_by
from epay.payments import (
    Payment,
    PaymentEvent,
    PaymentStatus,
    Reference,
    UnappliedFunds,
    UnappliedReason,
    allows,
)
from epay.ports import (
    EventAlreadyApplied,
    EventAppliedElsewhere,
    FundsAlreadyRecorded,
    InvoiceStore,
    InvoicesUnavailable,
    PaymentChanged,
    PaymentStore,
)

_ATTEMPTS = 8
AnswerT = TypeVar("AnswerT")
RequestT = TypeVar("RequestT")
_MAX_ERROR_TEXT = 200


class Outcome(StrEnum):
    SETTLED = "settled"
    DUPLICATE = "duplicate"
    ALREADY_SETTLED = "already settled by another notification"
    NEEDS_REVIEW = "needs review"
    MISMATCH = "amount or currency mismatch"
    DECLINED = "attempt declined"
    ENDED = "payment ended"
    REFERENCE_ISSUED = "reference issued"
    NOT_PAYABLE = "not payable"
    RECORDED = "recorded, nothing changed"
    FORGED = "refused, fields differ from what this payment sent"


class Kind(StrEnum):
    SUCCESS = "success"
    DECLINE = "decline"
    END = "end"
    REFERENCE = "reference"


@dataclass(frozen=True)
class Notice:
    """What a verified notification says, whatever the gateway."""

    gateway: str
    payment_id: str
    kind: Kind
    amount: Money | None
    currency: str
    transaction_id: str
    fingerprint: str
    end_event: PaymentEvent | None = None
    error: str | None = None
    reference: str | None = None
    event: tuple[str, str] | None = None
    # Fatourati's confirm is part of the debit: only a payment still live may be paid, and a refusal means the bank
    # takes no money, so nothing is flagged. CMI and M2T report money already taken or authorised.
    requires_live: bool = False
    # CMI reports money authorised: a mismatch is flagged for an operator; the others just refuse it.
    review_mismatch: bool = False
    expected_currency: str = "MAD"
    # For a signature that does not cover everything (CMI's HASH signs values, never names): the names of the
    # fields that differ from what this payment sent; any name refuses the notice before anything is decided.
    forged: Callable[[Payment], list[str]] | None = None

    @property
    def currency_ok(self) -> bool:
        return self.currency == self.expected_currency


def _clean_error(text: str) -> str:
    printable = "".join(character if character.isprintable() else " " for character in text)
    return printable.strip()[:_MAX_ERROR_TEXT]


RETRYABLE = (StoreUnavailable, BotoCoreError, ClientError)


def _failing_with(
    retry: tuple[int, Any], final: tuple[int, Any]
) -> Callable[[Callable[..., tuple[int, Any]]], Callable[..., tuple[int, Any]]]:
    """Answer a failure in the gateway's format, classified.

    A storage failure is retryable: the transaction rolled back, so the gateway's retry (CMI, M2T) or the bank's
    next attempt (Fatourati) finds the state as it was, and `retry` (a 5xx) asks for one. Anything else is
    deterministic: the same notification would fail the same way forever, so it gets `final`, a 4xx that stops the
    gateway retrying a poison message for days, is counted (`CallbackFailed`, alarmed) and left to recovery and an
    operator.
    """

    def wrap(method: Callable[..., tuple[int, Any]]) -> Callable[..., tuple[int, Any]]:
        @functools.wraps(method)
        def guarded(*args: Any) -> tuple[int, Any]:
            try:
                return method(*args)
            except RETRYABLE as error:
                logger.warning("callback not applied: storage failure", extra={"error_type": type(error).__name__})
                return retry[0], copy.deepcopy(retry[1])
            except Exception as error:
                metrics.add_metric(name="CallbackFailed", unit="Count", value=1)
                logger.exception(
                    "callback not applied: deterministic failure", extra={"error_type": type(error).__name__}
                )
                return final[0], copy.deepcopy(final[1])

        return guarded

    return wrap


@dataclass(frozen=True)
class CallbackService:
    invoices: InvoiceStore
    payments: PaymentStore
    settings: Settings
    secrets: GatewaySecrets

    # -- CMI ------------------------------------------------------------------------------------------------

    @_failing_with(retry=(500, cmi.FAILURE), final=(400, cmi.FAILURE))
    def cmi(self, body: bytes, now_ms: int) -> tuple[int, str]:
        """`POST /v1/callbacks/cmi`: the plain-text answer of gateways.md's table, row by row."""
        digest = CallbackEvidence.digest(body)
        try:
            fields = cmi.parse_form_body(body)
            verified = cmi.verify(fields, self.secrets.cmi_store_key)
        except cmi.InvalidCallback:
            verified = False
        if not verified:
            return self._rejected("CMI", digest, now_ms, 403, cmi.FAILURE)
        unexpected = cmi.unexpected_names(fields)
        if unexpected:
            refused = CallbackEvidence("CMI", now_ms, digest, True, "refused, field names CMI never sends", 403)
            self._refuse(refused, cmi.describe_names(unexpected))
            return 403, cmi.FAILURE
        result = cmi.interpret(fields)
        approved = result.approved
        notice = Notice(
            gateway="CMI",
            payment_id=result.oid,
            kind=Kind.SUCCESS if approved else Kind.DECLINE,
            amount=result.amount,
            currency=result.currency,
            expected_currency=cmi.CURRENCY_MAD,
            transaction_id=result.transaction_id,
            fingerprint=f"CMI|{result.fingerprint}",
            error=None
            if approved
            else _clean_error(declined_last_error("CMI", result.proc_return_code, result.error_message)),
            review_mismatch=True,
            forged=lambda payment: cmi.echo_mismatches(fields, self._cmi_echo(payment)),
        )

        def answer(outcome: Outcome | None) -> tuple[int, str]:
            if outcome is None:
                return 404, cmi.FAILURE
            if outcome is Outcome.FORGED:
                return 403, cmi.FAILURE
            if outcome in (Outcome.SETTLED, Outcome.DUPLICATE):
                return 200, cmi.POSTAUTH
            return 200, cmi.APPROVED

        return self._handle(notice, digest, now_ms, answer)

    def _cmi_echo(self, payment: Payment) -> dict[str, str]:
        """What every CMI callback for `payment` must echo: rebuilt as its form was built, with today's settings."""
        endpoints = endpoints_of(self.settings)
        return cmi.expected_echo(checkout_of(payment), self.settings.cmi_client_id, endpoints)

    # -- M2T ------------------------------------------------------------------------------------------------

    @_failing_with(retry=(503, {"status": "RETRY"}), final=(422, {"status": "REJECTED"}))
    def m2t(self, body: bytes, signature: str | None, now_ms: int) -> tuple[int, dict[str, Any]]:
        """`POST /v1/callbacks/m2t`: JSON answers; M2T retries on 5xx."""
        digest = CallbackEvidence.digest(body)
        if not m2t.verify_notification(signature, body, self.secrets.m2t_secret, now_ms // 1000):
            return self._rejected("M2T", digest, now_ms, 401, {"status": "INVALID_SIGNATURE"})
        try:
            notification = m2t.parse_notification(body)
        except m2t.InvalidNotification:
            self._record(CallbackEvidence("M2T", now_ms, digest, True, "invalid notification", 400))
            return 400, {"status": "INVALID_NOTIFICATION"}
        kinds = {"PAID": Kind.SUCCESS, "REFERENCE_ISSUED": Kind.REFERENCE}
        notice = Notice(
            gateway="M2T",
            payment_id=notification.order_ref,
            kind=kinds.get(notification.status, Kind.END),
            amount=notification.money,
            currency=notification.currency,
            transaction_id=notification.transaction_id or "",
            fingerprint=f"M2T|{notification.transaction_id or notification.event_id}",
            end_event=_M2T_ENDINGS.get(notification.status),
            error=_clean_error(f"M2T {notification.status}") if notification.status in _M2T_ENDINGS else None,
            reference=notification.reference,
            # M2T numbers events per order: the same event id on two orders is two events.
            event=("M2T", f"{notification.order_ref}#{notification.event_id}"),
        )

        def answer(outcome: Outcome | None) -> tuple[int, dict[str, Any]]:
            if outcome is None:
                return 404, {"status": "UNKNOWN_ORDER"}
            if outcome is Outcome.MISMATCH:
                return 409, {"status": "AMOUNT_MISMATCH"}
            return 200, {"status": "OK"}

        return self._handle(notice, digest, now_ms, answer)

    # -- Fatourati ------------------------------------------------------------------------------------------

    @_failing_with(retry=(503, {"code": "503"}), final=fatourati.GONE)
    def fatourati_inquiry(self, body: bytes, signature: str | None, now_ms: int) -> tuple[int, dict[str, Any]]:
        """`POST /v1/callbacks/fatourati/inquiry`: what is due on a reference (changes nothing)."""
        digest = CallbackEvidence.digest(body)
        now = now_ms // 1000
        inquiry, refused = self._read_fatourati(body, signature, now_ms, fatourati.parse_inquiry, "inquiry")
        if inquiry is None:
            return refused
        payment = self._payment_for_reference(inquiry.reference)
        if payment is None:
            status, answer = fatourati.UNKNOWN
        elif payment.status_at(now) is PaymentStatus.AWAITING_SETTLEMENT and payment.reference is not None:
            status, answer = fatourati.inquiry_answer(
                payment.amount,
                payment.issuer.code,
                payment.issuer.name,
                [(line.invoice_number, line.amount) for line in payment.lines],
                iso_instant(payment.reference.expires_at),
            )
        else:
            status, answer = fatourati.GONE
        self._record(
            CallbackEvidence(
                "FATOURATI",
                now_ms,
                digest,
                True,
                f"inquiry answered {answer['code']}",
                status,
                payment.payment_id if payment else None,
            )
        )
        return status, dict(answer)

    @_failing_with(retry=(503, {"code": "503"}), final=fatourati.GONE)
    def fatourati_confirm(self, body: bytes, signature: str | None, now_ms: int) -> tuple[int, dict[str, Any]]:
        """`POST /v1/callbacks/fatourati/confirm`: the bank channel took the payment of a reference."""
        digest = CallbackEvidence.digest(body)
        confirm, refused = self._read_fatourati(body, signature, now_ms, fatourati.parse_confirm, "confirmation")
        if confirm is None:
            return refused
        payment_id = self._payment_id_for_reference(confirm.reference)
        notice = Notice(
            gateway="FATOURATI",
            payment_id=payment_id or "",
            kind=Kind.SUCCESS,
            amount=confirm.money,
            currency=confirm.currency,
            transaction_id=confirm.transaction_id,
            fingerprint=f"FATOURATI|{confirm.transaction_id}",
            # A bank transaction is unique across every reference: applied once, to one payment.
            event=("FATOURATI", confirm.transaction_id),
            requires_live=True,
        )

        def answer(outcome: Outcome | None) -> tuple[int, dict[str, Any]]:
            if outcome is None:
                return fatourati.UNKNOWN[0], dict(fatourati.UNKNOWN[1])
            chosen = {
                Outcome.SETTLED: fatourati.APPLIED,
                Outcome.DUPLICATE: fatourati.ALREADY_APPLIED,
                Outcome.MISMATCH: fatourati.AMOUNT_MISMATCH,
            }.get(outcome, fatourati.GONE)
            return chosen[0], dict(chosen[1])

        if payment_id is None:
            status, unknown = answer(None)
            self._record(CallbackEvidence("FATOURATI", now_ms, digest, True, "unknown reference", status))
            return status, unknown
        return self._handle(notice, digest, now_ms, answer)

    def _read_fatourati(
        self, body: bytes, signature: str | None, now_ms: int, parse: Callable[[bytes], RequestT], what: str
    ) -> tuple[RequestT | None, tuple[int, dict[str, Any]]]:
        """The verified, parsed request, or None and the answer that refuses it (both kept as evidence)."""
        digest = CallbackEvidence.digest(body)
        if not fatourati.verify_request(signature, body, self.secrets.fatourati_secret, now_ms // 1000):
            return None, self._rejected("FATOURATI", digest, now_ms, *fatourati.BAD_SIGNATURE)
        try:
            return parse(body), (200, {})
        except fatourati.InvalidRequest:
            self._record(CallbackEvidence("FATOURATI", now_ms, digest, True, f"invalid {what}", 400))
            return None, (400, {"code": "400"})

    def _payment_id_for_reference(self, reference: str) -> str | None:
        if not fatourati.is_valid_reference(reference):
            return None
        return self.payments.payment_id_for_reference(reference)

    def _payment_for_reference(self, reference: str) -> Payment | None:
        payment_id = self._payment_id_for_reference(reference)
        return self.payments.get_payment(payment_id) if payment_id else None

    # -- the shared engine ----------------------------------------------------------------------------------

    def _rejected(self, gateway: str, digest: str, now_ms: int, status: int, answer: Any) -> tuple[int, Any]:
        metrics.add_metric(name="SignatureRejected", unit="Count", value=1)
        logger.warning("callback signature rejected", extra={"gateway": gateway, "body_sha256": digest})
        self._record(CallbackEvidence(gateway, now_ms, digest, False, "signature rejected", status))
        return status, answer

    def _refuse(self, evidence: CallbackEvidence, fields: str) -> None:
        """A verified callback that must not be believed (its signature does not cover what differs): nothing
        changes; it is counted, logged with field names only (never values) and kept as evidence."""
        metrics.add_metric(name="CallbackRejected", unit="Count", value=1)
        logger.warning(
            "callback refused",
            extra={
                "gateway": evidence.gateway,
                "body_sha256": evidence.body_sha256,
                "payment_id": evidence.payment_id,
                "decision": evidence.decision,
                "fields": fields,
            },
        )
        self._record(dataclasses.replace(evidence, decision=f"{evidence.decision}: {fields}"))

    def _record(self, evidence: CallbackEvidence) -> None:
        """Keep evidence of a callback that changes nothing; losing it must not change the answer."""
        try:
            self.payments.record_evidence(evidence)
        except Exception:
            logger.exception("callback evidence not stored", extra={"gateway": evidence.gateway})

    def _handle(
        self,
        notice: Notice,
        digest: str,
        now_ms: int,
        answer: Callable[[Outcome | None], tuple[int, AnswerT]],
    ) -> tuple[int, AnswerT]:
        """Apply a verified notice and answer in the gateway's format; storage failures propagate (5xx)."""

        def evidence(outcome: Outcome | None, payment_id: str | None) -> CallbackEvidence:
            return CallbackEvidence(
                notice.gateway,
                now_ms,
                digest,
                True,
                outcome.value if outcome else "unknown payment",
                answer(outcome)[0],
                payment_id,
                notice.fingerprint,
            )

        outcome = self._apply(notice, now_ms // 1000, evidence)
        if outcome is None:
            self._record(evidence(None, None))
        logger.info(
            "callback applied",
            extra={
                "gateway": notice.gateway,
                "payment_id": notice.payment_id,
                "kind": notice.kind.value,
                "outcome": outcome.value if outcome else "unknown payment",
            },
        )
        return answer(outcome)

    def _apply(
        self, notice: Notice, now: int, evidence: Callable[[Outcome | None, str | None], CallbackEvidence]
    ) -> Outcome | None:
        """Decide from the payment's current state and write the decision; decide again if it moved meanwhile.

        A concurrent copy of the same notification may commit between our read and our write: the transaction then
        fails on the payment's version or on the applied event, and deciding again from the payment as it now is
        gives the duplicate's answer (never a refusal of what was applied).
        """
        collided_at: int | None = None
        for _attempt in range(_ATTEMPTS):
            payment = self.payments.get_payment(notice.payment_id) if notice.payment_id else None
            if payment is None or not _addressed_to(notice, payment):
                return None
            if self._forged(notice, payment, evidence):
                return Outcome.FORGED
            if collided_at == payment.version:
                # This event is applied to this payment and deciding again would write it again: it is a duplicate.
                return self._keep(Outcome.DUPLICATE, lambda outcome: evidence(outcome, notice.payment_id))
            try:
                return self._decide(notice, payment, now, lambda outcome: evidence(outcome, notice.payment_id))
            except EventAlreadyApplied:
                collided_at = payment.version
            except EventAppliedElsewhere:
                # A bank transaction pays one reference only.
                return self._keep(Outcome.NOT_PAYABLE, lambda outcome: evidence(outcome, notice.payment_id))
            except PaymentChanged:
                continue
        raise StoreUnavailable("payment kept changing while a callback was applied")

    def _forged(
        self, notice: Notice, payment: Payment, evidence: Callable[[Outcome | None, str | None], CallbackEvidence]
    ) -> bool:
        """True, with the refusal kept, when the notice differs from what this payment sent (checked before any
        decision: it changes nothing)."""
        differing = notice.forged(payment) if notice.forged is not None else []
        if differing:
            self._refuse(evidence(Outcome.FORGED, payment.payment_id), ", ".join(differing))
        return bool(differing)

    def _decide(
        self, notice: Notice, payment: Payment, now: int, evidence: Callable[[Outcome], CallbackEvidence]
    ) -> Outcome:
        if notice.kind is Kind.SUCCESS:
            return self._succeed(notice, payment, now, evidence)
        if notice.kind is Kind.DECLINE and allows(payment.status, PaymentEvent.ATTEMPT_DECLINED):
            declined = payment.advance(PaymentEvent.ATTEMPT_DECLINED, last_error=notice.error)
            self.payments.transition(payment, declined, evidence(Outcome.DECLINED))
            return Outcome.DECLINED
        if notice.kind is Kind.END and notice.end_event is not None and allows(payment.status, notice.end_event):
            if not self._amount_matches(notice, payment):
                return self._keep(Outcome.MISMATCH, evidence)
            ended = payment.advance(notice.end_event, last_error=notice.error)
            self._move(
                payment, ended, evidence(Outcome.ENDED), release=held_by(self.invoices, payment), event=notice.event
            )
            metrics.add_metric(name="PaymentsFailed", unit="Count", value=1)
            return Outcome.ENDED
        if notice.kind is Kind.REFERENCE:
            return self._issue_reference(notice, payment, now, evidence)
        return self._keep(Outcome.RECORDED, evidence)

    def _succeed(
        self, notice: Notice, payment: Payment, now: int, evidence: Callable[[Outcome], CallbackEvidence]
    ) -> Outcome:
        if payment.status in (PaymentStatus.PAID, PaymentStatus.NEEDS_REVIEW):
            if payment.settled_by == notice.fingerprint:
                return self._keep(
                    Outcome.DUPLICATE if payment.status is PaymentStatus.PAID else Outcome.NEEDS_REVIEW, evidence
                )
            # Another report of money for a payment already settled or flagged: it settles nothing.
            outcome = Outcome.ALREADY_SETTLED if payment.status is PaymentStatus.PAID else Outcome.NEEDS_REVIEW
            if notice.requires_live:
                # Refused before the debit (Fatourati 410): the bank takes nothing, so there is nothing to return.
                return self._keep(outcome, evidence)
            return self._unapplied(notice, payment, UnappliedReason.SECOND_PAYMENT, now, evidence, outcome)
        if notice.requires_live and not payment.is_live(now):
            return self._keep(Outcome.NOT_PAYABLE, evidence)
        if not self._amount_matches(notice, payment):
            if notice.review_mismatch:
                return self._review(notice, payment, "AMOUNT_MISMATCH", evidence, Outcome.MISMATCH)
            if notice.requires_live:
                # Refused before the debit: the bank takes nothing.
                return self._keep(Outcome.MISMATCH, evidence)
            reason = UnappliedReason.AMOUNT_MISMATCH if notice.currency_ok else UnappliedReason.CURRENCY_MISMATCH
            return self._unapplied(notice, payment, reason, now, evidence, Outcome.MISMATCH)
        paid = payment.advance(
            PaymentEvent.SETTLED,
            paid_at=now,
            gateway_transaction_id=notice.transaction_id or None,
            settled_by=notice.fingerprint,
            last_error=None,
        )
        try:
            self.payments.settle(payment, paid, now, evidence(Outcome.SETTLED), notice.event)
        except InvoicesUnavailable as unavailable:
            if notice.requires_live:
                return self._keep(Outcome.NOT_PAYABLE, evidence)
            # An invoice reloaded at another amount since the payment was created is never settled by it.
            review_reason = "INVOICE_AMOUNT_CHANGED" if unavailable.changed else "INVOICES_PAID_ELSEWHERE"
            return self._review(notice, payment, review_reason, evidence, Outcome.NEEDS_REVIEW)
        metrics.add_metric(name="PaymentsPaid", unit="Count", value=1)
        return Outcome.SETTLED

    def _unapplied(
        self,
        notice: Notice,
        payment: Payment,
        reason: UnappliedReason,
        now: int,
        evidence: Callable[[Outcome], CallbackEvidence],
        outcome: Outcome,
    ) -> Outcome:
        """Record, count and alarm money a gateway reports taken that settles nothing: it is money to return."""
        funds = UnappliedFunds(
            gateway=notice.gateway,
            transaction_id=notice.transaction_id,
            amount=notice.amount,
            currency=notice.currency,
            reported_at=now,
            reason=reason,
            fingerprint=notice.fingerprint,
        )
        try:
            self.payments.record_unapplied(payment, funds, evidence(outcome))
        except FundsAlreadyRecorded:
            return self._keep(outcome, evidence)
        metrics.add_metric(name="UnappliedFunds", unit="Count", value=1)
        logger.error(
            "money reported taken that settles nothing: to return",
            extra={"payment_id": payment.payment_id, "gateway": notice.gateway, "reason": reason.value},
        )
        return outcome

    def _review(
        self,
        notice: Notice,
        payment: Payment,
        reason: str,
        evidence: Callable[[Outcome], CallbackEvidence],
        outcome: Outcome,
    ) -> Outcome:
        """Money was taken or authorised but cannot settle these invoices: an operator must void or refund."""
        flagged = payment.advance(
            PaymentEvent.FLAGGED,
            review_reason=reason,
            gateway_transaction_id=notice.transaction_id or None,
            settled_by=notice.fingerprint,
        )
        self._move(payment, flagged, evidence(outcome), release=held_by(self.invoices, payment), event=notice.event)
        metrics.add_metric(name="NeedsReview", unit="Count", value=1)
        logger.error(
            "payment needs review: money taken but invoices not settled",
            extra={"payment_id": payment.payment_id, "gateway": notice.gateway, "reason": reason},
        )
        return outcome

    def _issue_reference(
        self, notice: Notice, payment: Payment, now: int, evidence: Callable[[Outcome], CallbackEvidence]
    ) -> Outcome:
        if payment.reference is not None and payment.reference.code == notice.reference:
            return self._keep(Outcome.DUPLICATE, evidence)
        live = payment.is_live(now)
        if not allows(payment.status, PaymentEvent.REFERENCE_ISSUED) or not live or not notice.reference:
            return self._keep(Outcome.RECORDED, evidence)
        if not self._amount_matches(notice, payment):
            return self._keep(Outcome.MISMATCH, evidence)
        until = now + self.settings.reference_hold_seconds
        awaiting = payment.advance(
            PaymentEvent.REFERENCE_ISSUED, reference=Reference(notice.reference, until), expires_at=until
        )
        try:
            self._move(payment, awaiting, evidence(Outcome.REFERENCE_ISSUED), extend_holds_to=until, event=notice.event)
        except InvoicesUnavailable:
            return self._keep(Outcome.RECORDED, evidence)
        return Outcome.REFERENCE_ISSUED

    def _move(
        self,
        payment: Payment,
        changed: Payment,
        evidence: CallbackEvidence,
        release: list[str] | None = None,
        extend_holds_to: int | None = None,
        event: tuple[str, str] | None = None,
    ) -> None:
        try:
            self.payments.transition(payment, changed, evidence, release, extend_holds_to, event)
        except InvoicesUnavailable as lost:
            if release is not None:
                # A hold we meant to free was freed or taken meanwhile: read again and decide again.
                raise PaymentChanged(payment.payment_id) from lost
            raise

    def _keep(self, outcome: Outcome, evidence: Callable[[Outcome], CallbackEvidence]) -> Outcome:
        self._record(evidence(outcome))
        return outcome

    @staticmethod
    def _amount_matches(notice: Notice, payment: Payment) -> bool:
        return notice.currency_ok and notice.amount == payment.amount


_M2T_ENDINGS = {
    "FAILED": PaymentEvent.GATEWAY_FAILED,
    "CANCELLED": PaymentEvent.GATEWAY_CANCELLED,
    "EXPIRED": PaymentEvent.GATEWAY_EXPIRED,
}
# Which payments each channel may speak for: a valid CMI signature says nothing about an M2T payment.
_CHANNELS = {"CMI": ("CMI", "CARD"), "FATOURATI": ("CMI", "FATOURATI")}


def _addressed_to(notice: Notice, payment: Payment) -> bool:
    if notice.gateway == "M2T":
        return payment.gateway.value == "M2T"
    return (payment.gateway.value, payment.method) == _CHANNELS[notice.gateway]
