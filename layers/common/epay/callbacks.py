"""Gateway callbacks (api.md §6, gateways.md): verify first, then apply a whole state change or none of it.

The gateways' front halves (verify, parse, answer in the gateway's own format) are their adapters' callback routes
(`epay.gateways.protocol.CallbackRoute`, listed by the registry). The back half is this one engine, shared by every
route: it finds the payment, decides by its state and by what the route's `Confirmation` says a success means, and
writes the change and the evidence in one conditional transaction, deciding again if a concurrent callback moved
the payment first.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from botocore.exceptions import BotoCoreError, ClientError

from epay.config import CallbackSettings
from epay.errors import StoreUnavailable
from epay.evidence import CallbackEvidence, EvidenceSource
from epay.gateways.protocol import (
    Answer,
    CallbackRequest,
    CallbackRoute,
    Confirmation,
    Kind,
    MerchantApi,
    Notice,
    OrderStatus,
    Outcome,
    Refusal,
)
from epay.gateways.registry import GatewayRegistry
from epay.observability import logger, metrics
from epay.payments import (
    Capture,
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
    ReceiptCodeTaken,
    held_by,
)
from epay.receipts import new_receipt_code

_ATTEMPTS = 8
# Receipt codes drawn for one settlement before giving up (retryable): with 80-bit codes a second draw is already
# beyond what this service will ever see; more than one is a defect in the generator or the store.
_RECEIPT_DRAWS = 3
PAID_ELSEWHERE = "INVOICES_PAID_ELSEWHERE"
# A storage failure: nothing was written, the gateway may retry. Anything else is deterministic.
RETRYABLE = (StoreUnavailable, BotoCoreError, ClientError)
Evidence = Callable[[Outcome], CallbackEvidence]


@dataclass(frozen=True)
class CallbackService:
    invoices: InvoiceStore
    payments: PaymentStore
    settings: CallbackSettings
    gateways: GatewayRegistry

    def receive(self, path: str, request: CallbackRequest, now_ms: int) -> Answer | None:
        """`POST /v1/callbacks/{path}` in its gateway's format; None when no gateway answers that path.

        Failures are classified. A storage failure is retryable: the transaction rolled back, so the gateway's retry
        (CMI, M2T) or the bank's next attempt (Fatourati) finds the state as it was, and the route's retry answer (a
        5xx) asks for one. Anything else is deterministic: the same notification would fail the same way forever, so
        it gets the route's final answer, a 4xx that stops the gateway retrying a poison message for days, is counted
        (`CallbackFailed`, alarmed) and is left to recovery and an operator.
        """
        route = self.gateways.route(path)
        if route is None:
            return None
        try:
            return self._receive(route, request, now_ms)
        except RETRYABLE as error:
            logger.warning("callback not applied: storage failure", extra={"error_type": type(error).__name__})
            return copy.deepcopy(route.retry_answer)
        except Exception as error:
            metrics.add_metric(name="CallbackFailed", unit="Count", value=1)
            logger.exception("callback not applied: deterministic failure", extra={"error_type": type(error).__name__})
            return copy.deepcopy(route.final_answer)

    # Each gateway's routes by name: what the handler and the tests call.

    def cmi(self, body: bytes, now_ms: int) -> Answer:
        return self._must("cmi", CallbackRequest(body), now_ms)

    def m2t(self, body: bytes, signature: str | None, now_ms: int) -> Answer:
        return self._must("m2t", _signed(body, "x-m2t-signature", signature), now_ms)

    def fatourati_inquiry(self, body: bytes, signature: str | None, now_ms: int) -> Answer:
        return self._must("fatourati/inquiry", _signed(body, "x-fatourati-signature", signature), now_ms)

    def fatourati_confirm(self, body: bytes, signature: str | None, now_ms: int) -> Answer:
        return self._must("fatourati/confirm", _signed(body, "x-fatourati-signature", signature), now_ms)

    def _must(self, path: str, request: CallbackRequest, now_ms: int) -> Answer:
        answer = self.receive(path, request, now_ms)
        if answer is None:
            raise LookupError(f"no gateway answers /v1/callbacks/{path}")
        return answer

    # -- reading -------------------------------------------------------------------------------------------------

    def _receive(self, route: CallbackRoute, request: CallbackRequest, now_ms: int) -> Answer:
        digest = CallbackEvidence.digest(request.body)
        now = now_ms // 1000
        read = route.read(request, now)
        if isinstance(read, Refusal):
            self._refused(
                route,
                read,
                CallbackEvidence(
                    route.gateway, now_ms, digest, not read.signature_failed, read.decision, read.answer[0]
                ),
            )
            return read.answer
        payment_id = read.payment_id
        if payment_id is None and read.by_reference is not None:
            payment_id = self.payments.payment_id_for_reference(read.by_reference)
        notice = dataclasses.replace(read, payment_id=payment_id)
        if notice.kind is Kind.INQUIRY:
            return self._inquire(route, notice, digest, now_ms)
        return self._handle(route, notice, digest, now_ms)

    def _inquire(self, route: CallbackRoute, notice: Notice, digest: str, now_ms: int) -> Answer:
        """A question about a payment (Fatourati's inquiry): answered from its state, changes nothing."""
        now = now_ms // 1000
        payment = self.payments.get_payment(notice.payment_id) if notice.payment_id else None
        if payment is None or not route.speaks_for(payment):
            outcome, payment = Outcome.UNKNOWN, None
        elif payment.status_at(now) is PaymentStatus.AWAITING_SETTLEMENT and payment.reference is not None:
            outcome = Outcome.PAYABLE
        else:
            outcome = Outcome.NOT_PAYABLE
        answer = route.answer(outcome, payment, now)
        code = answer[1].get("code", "") if isinstance(answer[1], dict) else ""
        self._record(
            CallbackEvidence(
                route.gateway,
                now_ms,
                digest,
                True,
                f"inquiry answered {code}",
                answer[0],
                payment.payment_id if payment else None,
            )
        )
        return answer

    def _refused(self, route: CallbackRoute, refusal: Refusal, evidence: CallbackEvidence) -> None:
        if refusal.signature_failed:
            metrics.add_metric(name="SignatureRejected", unit="Count", value=1)
            logger.warning(
                "callback signature rejected", extra={"gateway": route.gateway, "body_sha256": evidence.body_sha256}
            )
            self._record(evidence)
        elif refusal.fields is not None:
            self._refuse(evidence, refusal.fields)
        else:
            self._record(evidence)

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

    # -- the shared engine ---------------------------------------------------------------------------------------

    def _handle(self, route: CallbackRoute, notice: Notice, digest: str, now_ms: int) -> Answer:
        """Apply a verified notice and answer in the gateway's format; storage failures propagate (retry answer)."""
        now = now_ms // 1000
        outcome, seen = self._applied(route, notice, digest, now_ms, EvidenceSource.CALLBACK)
        return route.answer(outcome, seen, now)

    def apply_status(self, status: OrderStatus, api: MerchantApi, now_ms: int) -> Outcome:
        """Apply a gateway's status answer exactly as the equivalent callback would be (operations-api.md §1): the
        same rules and transaction, its evidence kept with source `STATUS_QUERY`. A status answer carries no event
        id; applying the same one twice changes nothing (by the payment's state, `settled_by` and `last_error`), and
        one that changes nothing leaves no evidence (the pass asks again and again). Storage failures propagate."""
        if status.notice is None or (status.confirmation is None and status.notice.kind is Kind.SUCCESS):
            return Outcome.RECORDED
        route = _StatusRoute(api, status.confirmation or Confirmation.TAKEN)
        digest = CallbackEvidence.digest(f"{status.gateway}|{status.order_id}|{status.state}".encode())
        outcome, _ = self._applied(route, status.notice, digest, now_ms, EvidenceSource.STATUS_QUERY)
        return outcome

    def _applied(
        self, route: CallbackRoute, notice: Notice, digest: str, now_ms: int, source: EvidenceSource
    ) -> tuple[Outcome, Payment | None]:
        now = now_ms // 1000
        seen: list[Payment] = []

        def evidence(outcome: Outcome, payment_id: str | None) -> CallbackEvidence:
            return CallbackEvidence(
                notice.gateway,
                now_ms,
                digest,
                True,
                outcome.value,
                route.answer(outcome, seen[-1] if seen else None, now)[0],
                payment_id,
                notice.fingerprint,
                source,
            )

        outcome = self._apply(route, notice, now, evidence, seen)
        if outcome is Outcome.UNKNOWN:
            self._record(evidence(outcome, None))
        logger.info(
            "callback applied" if source is EvidenceSource.CALLBACK else "status answer applied",
            extra={
                "gateway": notice.gateway,
                "payment_id": notice.payment_id,
                "kind": notice.kind.value,
                "outcome": outcome.value,
            },
        )
        return outcome, seen[-1] if seen else None

    def _apply(
        self,
        route: CallbackRoute,
        notice: Notice,
        now: int,
        evidence: Callable[[Outcome, str | None], CallbackEvidence],
        seen: list[Payment],
    ) -> Outcome:
        """Decide from the payment's current state and write the decision; decide again if it moved meanwhile.

        A concurrent copy of the same notification may commit between our read and our write: the transaction then
        fails on the payment's version or on the applied event, and deciding again from the payment as it now is
        gives the duplicate's answer (never a refusal of what was applied).
        """
        collided_at: int | None = None
        for _attempt in range(_ATTEMPTS):
            payment = self.payments.get_payment(notice.payment_id) if notice.payment_id else None
            if payment is None or not route.speaks_for(payment):
                # A valid signature of one route says nothing about another gateway's payments.
                return Outcome.UNKNOWN
            seen.append(payment)
            if self._forged(notice, payment, evidence):
                return Outcome.FORGED
            if collided_at == payment.version:
                # This event is applied to this payment and deciding again would write it again: it is a duplicate.
                return self._keep(Outcome.DUPLICATE, lambda outcome: evidence(outcome, notice.payment_id))
            try:
                return self._decide(
                    route.confirmation, notice, payment, now, lambda outcome: evidence(outcome, notice.payment_id)
                )
            except EventAlreadyApplied:
                collided_at = payment.version
            except EventAppliedElsewhere:
                # A bank transaction pays one reference only.
                return self._keep(Outcome.NOT_PAYABLE, lambda outcome: evidence(outcome, notice.payment_id))
            except PaymentChanged:
                continue
        raise StoreUnavailable("payment kept changing while a callback was applied")

    def _forged(
        self, notice: Notice, payment: Payment, evidence: Callable[[Outcome, str | None], CallbackEvidence]
    ) -> bool:
        """True, with the refusal kept, when the notice differs from what this payment sent (checked before any
        decision: it changes nothing)."""
        differing = notice.forged(payment) if notice.forged is not None else []
        if differing:
            self._refuse(evidence(Outcome.FORGED, payment.payment_id), ", ".join(differing))
        return bool(differing)

    def _decide(
        self, confirmation: Confirmation, notice: Notice, payment: Payment, now: int, evidence: Evidence
    ) -> Outcome:
        if notice.kind is Kind.SUCCESS:
            return self._succeed(confirmation, notice, payment, now, evidence)
        if notice.kind is Kind.DECLINE and allows(payment.status, PaymentEvent.ATTEMPT_DECLINED):
            if notice.event is None and payment.last_error == notice.error:
                # The same decline read again (a status answer has no event id): nothing changes.
                return self._keep(Outcome.RECORDED, evidence)
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
        self, confirmation: Confirmation, notice: Notice, payment: Payment, now: int, evidence: Evidence
    ) -> Outcome:
        if payment.status in _REPORTED:
            if payment.settled_by == notice.fingerprint:
                # The report already applied (a gateway's retry of a callback, or the status answer of the same
                # transaction): nothing changes. A reversed payment's is never captured again.
                return self._keep(_REPORTED[payment.status], evidence)
            # Another report of money for a payment already settled, flagged or reversed: it settles nothing.
            outcome = Outcome.ALREADY_SETTLED if payment.status is PaymentStatus.PAID else _REPORTED[payment.status]
            return self._not_applied(
                confirmation, notice, payment, UnappliedReason.SECOND_PAYMENT, now, evidence, outcome
            )
        if confirmation is Confirmation.BEFORE_DEBIT and not payment.is_live(now):
            return self._keep(Outcome.NOT_PAYABLE, evidence)
        if not self._amount_matches(notice, payment):
            match confirmation:
                case Confirmation.AUTHORISED | Confirmation.CAPTURED:
                    # Authorised (never captured), or found captured: an operator looks at the gateway's figures.
                    return self._review(notice, payment, now, "AMOUNT_MISMATCH", evidence, Outcome.MISMATCH)
                case Confirmation.TAKEN | Confirmation.BEFORE_DEBIT:
                    currency_ok = notice.currency_ok
                    reason = UnappliedReason.AMOUNT_MISMATCH if currency_ok else UnappliedReason.CURRENCY_MISMATCH
                    return self._not_applied(confirmation, notice, payment, reason, now, evidence, Outcome.MISMATCH)
                case _:
                    assert_never(confirmation)
        capture = _CAPTURES[confirmation]
        recovery = payment.recovery
        if capture is Capture.DUE:
            # Recovery checks that CMI did capture what our answer asked it to (the answer may be lost), once the
            # settlement is EPAY_RECOVERY_AFTER_SECONDS old.
            recovery = recovery.due_now(now)
        paid = payment.advance(
            PaymentEvent.SETTLED,
            paid_at=now,
            gateway_transaction_id=notice.transaction_id or None,
            settled_by=notice.fingerprint,
            last_error=None,
            capture=capture,
            recovery=recovery,
            receipt_code=new_receipt_code(),
        )
        try:
            self._settle(payment, paid, now, evidence, notice.event)
        except InvoicesUnavailable as unavailable:
            match confirmation:
                case Confirmation.BEFORE_DEBIT:
                    return self._keep(Outcome.NOT_PAYABLE, evidence)
                case Confirmation.AUTHORISED | Confirmation.CAPTURED | Confirmation.TAKEN:
                    # An invoice reloaded at another amount since the payment was created is never settled by it.
                    review_reason = "INVOICE_AMOUNT_CHANGED" if unavailable.changed else PAID_ELSEWHERE
                    return self._review(notice, payment, now, review_reason, evidence, Outcome.NEEDS_REVIEW)
                case _:
                    assert_never(confirmation)
        metrics.add_metric(name="PaymentsPaid", unit="Count", value=1)
        return Outcome.SETTLED

    def _settle(
        self, payment: Payment, paid: Payment, now: int, evidence: Evidence, event: tuple[str, str] | None
    ) -> None:
        """Write the settlement; a receipt code already given to another payment is drawn again, in the same
        attempt (nothing was written). Everything else the store raises is the caller's to decide on."""
        for _draw in range(_RECEIPT_DRAWS):
            try:
                self.payments.settle(payment, paid, now, evidence(Outcome.SETTLED), event)
                return
            except ReceiptCodeTaken:
                logger.warning("receipt code already in use: drawing another", extra={"payment_id": paid.payment_id})
                paid = dataclasses.replace(paid, receipt_code=new_receipt_code())
        raise StoreUnavailable("no free receipt code after several draws")

    def _not_applied(
        self,
        confirmation: Confirmation,
        notice: Notice,
        payment: Payment,
        reason: UnappliedReason,
        now: int,
        evidence: Evidence,
        outcome: Outcome,
    ) -> Outcome:
        """A success that settles nothing: money to return, unless the refusal means none was taken."""
        match confirmation:
            case Confirmation.BEFORE_DEBIT:
                # Refused before the debit (Fatourati 410, 420): the bank takes nothing, there is nothing to return.
                return self._keep(outcome, evidence)
            case Confirmation.AUTHORISED | Confirmation.CAPTURED | Confirmation.TAKEN:
                return self._unapplied(notice, payment, reason, now, evidence, outcome)
            case _:
                assert_never(confirmation)

    def _unapplied(
        self,
        notice: Notice,
        payment: Payment,
        reason: UnappliedReason,
        now: int,
        evidence: Evidence,
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
        now: int,
        reason: str,
        evidence: Evidence,
        outcome: Outcome,
    ) -> Outcome:
        """Money was taken or authorised but cannot settle these invoices. When they were paid by another payment,
        recovery returns it at its next pass (due now); any other reason is an operator's (operations-api.md §1)."""
        recovery = payment.recovery.due_now(now) if reason == PAID_ELSEWHERE else payment.recovery
        flagged = payment.advance(
            PaymentEvent.FLAGGED,
            review_reason=reason,
            gateway_transaction_id=notice.transaction_id or None,
            settled_by=notice.fingerprint,
            recovery=recovery,
        )
        self._move(payment, flagged, evidence(outcome), release=held_by(self.invoices, payment), event=notice.event)
        metrics.add_metric(name="NeedsReview", unit="Count", value=1)
        logger.error(
            "payment needs review: money taken but invoices not settled",
            extra={"payment_id": payment.payment_id, "gateway": notice.gateway, "reason": reason},
        )
        return outcome

    def _issue_reference(self, notice: Notice, payment: Payment, now: int, evidence: Evidence) -> Outcome:
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

    def _keep(self, outcome: Outcome, evidence: Evidence) -> Outcome:
        kept = evidence(outcome)
        if kept.source is EvidenceSource.CALLBACK:
            self._record(kept)
        return outcome

    @staticmethod
    def _amount_matches(notice: Notice, payment: Payment) -> bool:
        return notice.currency_ok and notice.amount == payment.amount


# A payment a report of money already reached, and what the same report, arriving again, is told.
_REPORTED = {
    PaymentStatus.PAID: Outcome.DUPLICATE,
    PaymentStatus.NEEDS_REVIEW: Outcome.NEEDS_REVIEW,
    PaymentStatus.REVERSED: Outcome.RETURNED,
}

_CAPTURES: dict[Confirmation, Capture | None] = {
    Confirmation.AUTHORISED: Capture.DUE,  # captured by CMI on our answer, checked (and done if need be) by recovery
    Confirmation.CAPTURED: Capture.DONE,
    Confirmation.TAKEN: None,
    Confirmation.BEFORE_DEBIT: None,
}


@dataclass(frozen=True)
class _StatusRoute:
    """What the engine needs of a route, for a status answer recovery got from a gateway's merchant API."""

    api: MerchantApi
    confirmation: Confirmation
    path: str = "status-query"
    retry_answer: Answer = (503, "")
    final_answer: Answer = (422, "")

    @property
    def gateway(self) -> str:
        return self.api.gateway

    def speaks_for(self, payment: Payment) -> bool:
        return self.api.asks_about(payment)

    def read(self, request: CallbackRequest, now: int) -> Notice | Refusal:
        raise NotImplementedError("a status answer is read by its gateway's client, never posted")

    def answer(self, outcome: Outcome, payment: Payment | None, now: int) -> Answer:
        # The evidence's "answer status" of a status query: the gateway answered (200); an unknown payment 404.
        return (404 if outcome is Outcome.UNKNOWN else 200), outcome.value


def _signed(body: bytes, header: str, signature: str | None) -> CallbackRequest:
    return CallbackRequest(body, {header: signature} if signature is not None else {})
