"""Recovery: no payment is left to a callback that may not come, no money is kept that settles nothing
(operations-api.md §1; docs/architecture.md, "Recovery").

A pass reads the payments whose check is due from the recovery index (never a Scan), at most `EPAY_RECOVERY_BATCH`
of them, and visits each within `EPAY_RECOVERY_PASS_SECONDS`, a few at a time (`EPAY_RECOVERY_WORKERS`: the time goes
to the gateways). A visit:
1. reads the payment and claims it: its `due` moves `LEASE_SECONDS` ahead in a write conditional on its version, so
   a concurrent pass skips it, and a concurrent callback (or cancel) that read it before decides again;
2. asks the payment's gateway what became of its order, and applies the answer through the callback engine, exactly
   as the equivalent callback (`CallbackService.apply_status`: same rules, one transaction, evidence `STATUS_QUERY`);
3. does what the payment's state then owes, and only that: capture an authorisation that settled it (`PostAuth`),
   return what a payment flagged `INVOICES_PAID_ELSEWHERE` holds (void while authorised, refund once taken; the
   payment becomes `REVERSED`), record the end of a hold that lapsed (`EXPIRED`, or `FAILED` for a voided order);
4. schedules the next check (1, 2, 4, … minutes, at most hourly; at the hold's end, asked once more), or none.

Every gateway operation is preceded by the claim (and a refund by a recorded attempt), and followed by a write
conditional on the version it read, so one settlement, one capture, one reversal whatever the interleaving. A gateway
that does not answer changes nothing but the schedule. A storage failure ends that visit only; the pass goes on and
reports it (`epay reconcile` exits non-zero, the scheduled function fails and is retried).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError

from epay import clock
from epay.callbacks import PAID_ELSEWHERE, CallbackService
from epay.config import RecoverySettings
from epay.errors import StoreUnavailable
from epay.evidence import CallbackEvidence, EvidenceSource
from epay.gateways import registry
from epay.gateways.protocol import (
    Holding,
    MerchantApi,
    MethodKind,
    NoAnswer,
    Operation,
    OperationAnswer,
    OperationDone,
    OrderStatus,
    Outcome,
)
from epay.observability import logger, metrics
from epay.payments import (
    LEASE_SECONDS,
    Capture,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Reversal,
    ReversalAction,
    allows,
)
from epay.ports import InvoiceStore, InvoicesUnavailable, PaymentChanged, PaymentStore, held_by

# A card or direct-debit payment the payer's side ended is asked about this long after its creation: its payer may
# have paid on the gateway's page after leaving ours (operations-api.md §1).
ASK_WINDOW_SECONDS = 86_400
MAX_BACKOFF_SECONDS = 3600
UNRESOLVED_ALERT_SECONDS = 3600
# A visit is started only with this much of the pass's time left: three gateway calls of at most 5 s, and writes.
VISIT_SECONDS = 20
_WRITE_ATTEMPTS = 5
STORE_FAILURES = (StoreUnavailable, BotoCoreError, ClientError)


class Visit(StrEnum):
    """What one visit did: the pass's report counts them."""

    SKIPPED = "skipped"  # no longer due, or another pass (or a callback) holds it
    NOT_YET = "not yet"  # marked for recovery, too young to ask about: its first check is scheduled
    NOTHING_LEFT = "nothing left"  # final and owing nothing: out of the index
    WAITING = "waiting"  # asked; nothing settled yet; asked again later
    NO_ANSWER = "no answer"  # the gateway did not answer: nothing changed, asked again later
    RECOVERED = "recovered"  # a status answer settled, flagged or ended the payment
    EXPIRED = "expired"  # the hold lapsed and the gateway, asked once more, holds nothing: recorded
    CAPTURED = "captured"  # an authorisation that settled the payment was captured (or found captured)
    REVERSED = "reversed"  # money that settled nothing was returned
    OPERATOR = "needs an operator"  # recovery can do no more: alarmed
    STORE_FAILED = "store failed"  # nothing was written by the failing step; the next pass goes on


@dataclass
class PassReport:
    """What a pass did. `store_failures` > 0 means the pass must be reported failed (exit code, Lambda error)."""

    started_at: int
    due: int = 0
    visits: Counter[Visit] = field(default_factory=Counter)
    unresolved_over_an_hour: int = 0
    out_of_time: int = 0

    @property
    def store_failures(self) -> int:
        return self.visits[Visit.STORE_FAILED]

    @property
    def completed(self) -> bool:
        return self.store_failures == 0

    def as_dict(self) -> dict[str, object]:
        return {
            "started_at": clock.iso_instant(self.started_at),
            "due": self.due,
            "visits": {visit.value: count for visit, count in sorted(self.visits.items()) if count},
            "left_for_next_pass": self.out_of_time,
            "unresolved_over_an_hour": self.unresolved_over_an_hour,
            "completed": self.completed,
        }


class _Stop(Exception):
    """Another writer moved the payment while this visit worked on it: this visit stops, the next pass goes on."""


@dataclass(frozen=True)
class RecoveryService:
    invoices: InvoiceStore
    payments: PaymentStore
    callbacks: CallbackService
    apis: Mapping[str, MerchantApi]
    settings: RecoverySettings
    now_ms: Callable[[], int] = clock.now_ms
    monotonic: Callable[[], float] = time.monotonic
    # The payments of the current pass unresolved for an hour or more (one pass at a time per service instance).
    _unresolved: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- the pass ------------------------------------------------------------------------------------------------

    def run_pass(self) -> PassReport:
        """One bounded pass over the payments due now. Never raises for a gateway; store failures are counted."""
        started = self.monotonic()
        deadline = started + self.settings.pass_seconds
        now = self.now_ms() // 1000
        report = PassReport(started_at=now)
        try:
            due = self.payments.due_for_recovery(now, self.settings.batch)
        except STORE_FAILURES as error:
            logger.error("recovery pass: the index could not be read", extra={"error_type": type(error).__name__})
            report.visits[Visit.STORE_FAILED] += 1
            return report
        report.due = len(due)
        self._unresolved.clear()

        def visit(payment_id: str) -> tuple[Visit, bool]:
            if self.monotonic() + VISIT_SECONDS > deadline:
                return Visit.SKIPPED, True
            return self._visit_safely(payment_id), False

        with ThreadPoolExecutor(max_workers=self.settings.workers, thread_name_prefix="recovery") as pool:
            for done, out_of_time in pool.map(visit, due):
                report.visits[done] += 1
                report.out_of_time += out_of_time
        report.unresolved_over_an_hour = len(self._unresolved)
        self._publish(report)
        return report

    def _visit_safely(self, payment_id: str) -> Visit:
        try:
            return self.visit(payment_id)
        except (_Stop, PaymentChanged):
            return Visit.SKIPPED
        except STORE_FAILURES as error:
            logger.warning(
                "recovery visit stopped: storage failure",
                extra={"payment_id": payment_id, "error_type": type(error).__name__},
            )
            return Visit.STORE_FAILED
        except Exception as error:
            # A defect: this payment is left as it is (its lease lapses, the next pass tries again) and alarmed.
            metrics.add_metric(name="RecoveryFailed", unit="Count", value=1)
            logger.exception(
                "recovery visit failed", extra={"payment_id": payment_id, "error_type": type(error).__name__}
            )
            return Visit.OPERATOR

    @staticmethod
    def _publish(report: PassReport) -> None:
        for name, visits in (
            ("PaymentsRecovered", (Visit.RECOVERED,)),
            ("PaymentsCaptured", (Visit.CAPTURED,)),
            ("PaymentsReversed", (Visit.REVERSED,)),
            ("RecoveryNoAnswer", (Visit.NO_ANSWER,)),
            ("RecoveryStoreFailures", (Visit.STORE_FAILED,)),
        ):
            metrics.add_metric(name=name, unit="Count", value=sum(report.visits[visit] for visit in visits))
        metrics.add_metric(name="RecoveryUnresolved", unit="Count", value=report.unresolved_over_an_hour)
        metrics.add_metric(name="RecoveryLeftForNextPass", unit="Count", value=report.out_of_time)
        logger.info("recovery pass", extra={"report": report.as_dict()})

    # -- one payment ---------------------------------------------------------------------------------------------

    def visit(self, payment_id: str) -> Visit:
        """Visit one payment now (it must be due); storage failures propagate."""
        now = self.now_ms() // 1000
        payment = self.payments.get_payment(payment_id)
        if payment is None or payment.recovery.due is None or payment.recovery.due > now:
            return Visit.SKIPPED  # the index lags: rescheduled or finished since it was read
        api = self.apis.get(payment.gateway)
        if api is None or not api.asks_about(payment) or not owes_a_check(payment, now):
            self._write(payment, lambda p: p.scheduled(None, unresolved_since=None))
            return Visit.NOTHING_LEFT
        first = self._first_check(payment, now)
        if first is not None:
            # Too young to ask about yet: its first check is set once, where this pass's settings put it.
            self._write(payment, lambda p: p.scheduled(first))
            return Visit.NOT_YET
        payment = self._write(payment, lambda p: p.scheduled(now + LEASE_SECONDS))
        return self._work(payment, api, now)

    def _first_check(self, payment: Payment, now: int) -> int | None:
        """When a payment marked for recovery is first asked about, if that is still to come: an open one once it
        is `EPAY_RECOVERY_AFTER_SECONDS` old (at once if its hold has lapsed); a capture once the settlement is that
        old (the callback's answer asked CMI to capture: it had time to). A reversal owed is never delayed."""
        after = self.settings.recovery_after_seconds
        if payment.recovery.checks:
            return None  # asked before: the back-off decides
        if payment.status is PaymentStatus.PAID and payment.capture is Capture.DUE and payment.paid_at is not None:
            since = payment.paid_at
        elif payment.is_live(now):
            since = payment.created_at
        else:
            return None
        return since + after if now < since + after else None

    def _work(self, payment: Payment, api: MerchantApi, now: int) -> Visit:
        answer = api.status(payment)
        if isinstance(answer, NoAnswer):
            metrics.add_metric(name="GatewayNoAnswer", unit="Count", value=1)
            self._next(payment, now, unresolved=True)
            return Visit.NO_ANSWER
        if answer.alert:
            metrics.add_metric(name="GatewayNeedsReversal", unit="Count", value=1)
            logger.error(
                "gateway reports a transaction that needs reversal: an operator looks at it",
                extra={"payment_id": payment.payment_id, "gateway": answer.gateway, "state": answer.state},
            )
        visit = Visit.WAITING
        if payment.status in (PaymentStatus.PENDING, PaymentStatus.AWAITING_SETTLEMENT) or in_window(payment, now):
            outcome = self.callbacks.apply_status(answer, api, self.now_ms())
            if outcome in _RECOVERED:
                visit = Visit.RECOVERED
            payment = self._reread(payment)
        if payment.status is PaymentStatus.PAID and payment.capture is Capture.DUE:
            return self._capture(payment, api, answer, now)
        if owes_reversal(payment):
            return self._reverse(payment, api, answer, now)
        if (
            payment.status in (PaymentStatus.PENDING, PaymentStatus.AWAITING_SETTLEMENT)
            and payment.status_at(now) is not payment.status
        ):
            return self._lapse(payment, answer, now, visit)
        if not owes_a_check(payment, now):
            self._write(payment, lambda p: p.scheduled(None, checks=p.recovery.checks + 1, unresolved_since=None))
            return visit
        self._next(payment, now, unresolved=answer.alert or _pending(answer))
        return visit

    # -- the end of a hold ---------------------------------------------------------------------------------------

    def _lapse(self, payment: Payment, answer: OrderStatus, now: int, visit: Visit) -> Visit:
        """The hold has lapsed and the gateway, asked once more, settled nothing: record the end (`EXPIRED`, or
        `FAILED` for a voided order). A pending order is not ended: the payer may still complete it."""
        if _pending(answer) or answer.alert:
            # The gateway still works on the order: its end is not ours to decide yet.
            self._next(payment, now, unresolved=True)
            return visit
        # Money the engine could not apply (taken for another amount) was recorded apart, as unapplied funds.
        event = answer.ends_as if answer.ends_as is not None else PaymentEvent.HOLD_LAPSED
        ended = payment.advance(event)
        ended = ended.scheduled(self._after_end(ended, now), checks=ended.recovery.checks + 1, unresolved_since=None)
        evidence = self._evidence(answer, f"hold lapsed: {answer.state}", ended.status.value, now)
        try:
            self.payments.transition(payment, ended, evidence, release=held_by(self.invoices, payment))
        except (PaymentChanged, InvoicesUnavailable):
            return Visit.SKIPPED  # moved meanwhile (a callback, a cancel): the next pass looks again
        logger.info(
            "payment recorded ended after its hold",
            extra={"payment_id": payment.payment_id, "status": ended.status.value, "state": answer.state},
        )
        return Visit.EXPIRED

    def _after_end(self, ended: Payment, now: int) -> int | None:
        """After the end of its hold, a card or direct-debit payment is still asked about until its window closes."""
        end = window_end(ended)
        if ended.status is PaymentStatus.EXPIRED and end is not None and now < end:
            return min(now + _backoff(ended.recovery.checks + 1), end)
        return None

    # -- capture ---------------------------------------------------------------------------------------------------

    def _capture(self, payment: Payment, api: MerchantApi, answer: OrderStatus, now: int) -> Visit:
        """A `PAID` payment settled by an authorisation: make sure the money is taken, once."""
        if answer.holding is Holding.TAKEN:
            self._write(
                payment, lambda p: p.amended(capture=Capture.DONE).scheduled(None, unresolved_since=None), retry=True
            )
            return Visit.CAPTURED
        if _pending(answer):
            self._next(payment, now, unresolved=True)
            return Visit.WAITING
        if answer.holding is not Holding.AUTHORISED:
            # Voided, declined or unknown at the gateway: the invoices are paid and no money will come. An operator's.
            metrics.add_metric(name="CaptureRefused", unit="Count", value=1)
            logger.error(
                "paid payment whose authorisation is gone: nothing to capture",
                extra={"payment_id": payment.payment_id, "gateway": answer.gateway, "state": answer.state},
            )
            self._write(payment, lambda p: p.amended(capture=Capture.REFUSED).scheduled(None))
            return Visit.OPERATOR
        if answer.amount != payment.amount:
            # Never capture another amount than the payment's (it settled on an equal one: a gateway's change).
            metrics.add_metric(name="CaptureRefused", unit="Count", value=1)
            logger.error(
                "authorisation amount differs from the paid payment's: not captured",
                extra={"payment_id": payment.payment_id, "gateway": answer.gateway},
            )
            self._next(payment, now, unresolved=True)
            return Visit.OPERATOR
        done = api.capture(payment, payment.amount)
        if not isinstance(done, OperationDone):
            self._operation_failed(payment, done)
            self._next(payment, now, unresolved=True)
            return Visit.NO_ANSWER if isinstance(done, NoAnswer) else Visit.WAITING
        evidence = self._operation_evidence(done, payment, now)
        self._write(
            payment,
            lambda p: p.amended(capture=Capture.DONE).scheduled(None, unresolved_since=None),
            evidence=evidence,
            retry=True,
        )
        logger.info("authorisation captured", extra={"payment_id": payment.payment_id, "gateway": done.gateway})
        return Visit.CAPTURED

    # -- reversal ----------------------------------------------------------------------------------------------------

    def _reverse(self, payment: Payment, api: MerchantApi, answer: OrderStatus, now: int) -> Visit:
        """Return what a payment flagged `INVOICES_PAID_ELSEWHERE` holds: void while authorised, refund once taken."""
        if answer.holding is Holding.RETURNED:
            return self._reversed(payment, ReversalAction.VOID, now, None)
        if answer.holding is Holding.NOTHING:
            # Pending, or nothing held where the report said money was: asked again; an hour of it is alarmed.
            self._next(payment, now, unresolved=True)
            return Visit.WAITING
        operation = Operation.VOID if answer.holding is Holding.AUTHORISED else Operation.REFUND
        amount = answer.amount if answer.amount is not None else payment.amount
        earlier_attempts = payment.recovery.reversal_attempts
        # The attempt is recorded before it is sent: a refund whose answer is lost is known to have been tried.
        payment = self._write(
            payment, lambda p: p.scheduled(now + LEASE_SECONDS, reversal_attempts=p.recovery.reversal_attempts + 1)
        )
        done = api.void(payment) if operation is Operation.VOID else api.refund(payment, amount)
        if isinstance(done, OperationDone):
            action = ReversalAction.VOID if operation is Operation.VOID else ReversalAction.REFUND
            return self._reversed(payment, action, now, done)
        self._operation_failed(payment, done)
        if operation is Operation.REFUND and earlier_attempts and not isinstance(done, NoAnswer):
            # Refused after an attempt whose answer was lost: it may have been refunded then. Never sent again.
            metrics.add_metric(name="ReversalUnconfirmed", unit="Count", value=1)
            logger.error(
                "refund refused after an unanswered attempt: an operator confirms it at the gateway",
                extra={"payment_id": payment.payment_id, "gateway": done.gateway},
            )
            self._write(payment, lambda p: p.scheduled(None, unresolved_since=p.recovery.unresolved_since or now))
            return Visit.OPERATOR
        self._next(payment, now, unresolved=True)
        return Visit.NO_ANSWER if isinstance(done, NoAnswer) else Visit.WAITING

    def _reversed(self, payment: Payment, action: ReversalAction, now: int, done: OperationDone | None) -> Visit:
        """Record the money returned: the payment becomes `REVERSED`, whoever wrote in between (the money is back:
        that must be recorded)."""
        reason = payment.review_reason or PAID_ELSEWHERE
        evidence = (
            self._operation_evidence(done, payment, now)
            if done is not None
            else CallbackEvidence(
                payment.gateway,
                now * 1000,
                CallbackEvidence.digest(f"{payment.gateway}|{payment.payment_id}|returned".encode()),
                True,
                "found voided at the gateway",
                200,
                payment.payment_id,
                source=EvidenceSource.STATUS_QUERY,
            )
        )

        def reversed_(current: Payment) -> Payment:
            if not allows(current.status, PaymentEvent.MONEY_RETURNED):
                raise _Stop
            returned = current.advance(PaymentEvent.MONEY_RETURNED, reversal=Reversal(action, now, reason))
            return returned.scheduled(None, unresolved_since=None)

        self._write(payment, reversed_, evidence=evidence, retry=True)
        logger.info(
            "money returned",
            extra={"payment_id": payment.payment_id, "gateway": payment.gateway, "action": action.value},
        )
        return Visit.REVERSED

    # -- writes -------------------------------------------------------------------------------------------------------

    def _next(self, payment: Payment, now: int, unresolved: bool) -> None:
        """Schedule the next check: 1, 2, 4, … minutes after this one, at most hourly; at the hold's end at the
        latest (asked once more before it is recorded), and never past the window of a payment already ended."""
        checks = payment.recovery.checks + 1
        due: int | None = now + _backoff(checks)
        if payment.status in (PaymentStatus.PENDING, PaymentStatus.AWAITING_SETTLEMENT) and now < payment.expires_at:
            due = min(now + _backoff(checks), payment.expires_at)
        elif payment.status in (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED):
            end = window_end(payment)
            due = min(now + _backoff(checks), end) if end is not None and now < end else None
        since = (payment.recovery.unresolved_since or now) if unresolved else None
        if since is not None and now - since >= UNRESOLVED_ALERT_SECONDS:
            self._unresolved[payment.payment_id] = since
        self._write(payment, lambda p: p.scheduled(due, checks=checks, unresolved_since=since))

    def _write(
        self,
        payment: Payment,
        change: Callable[[Payment], Payment],
        evidence: CallbackEvidence | None = None,
        retry: bool = False,
    ) -> Payment:
        """Write `change(payment)` over the version read. On a concurrent change: raise `PaymentChanged` (the visit
        stops; the other writer's schedule stands, and the claim's lease brings the payment back within minutes),
        or, with `retry` — only for what the gateway has done and must be recorded — read again and apply the same
        change to what is there."""
        for _attempt in range(_WRITE_ATTEMPTS):
            changed = change(payment)
            try:
                self.payments.transition(payment, changed, evidence)
                return changed
            except PaymentChanged:
                if not retry:
                    raise
                payment = self._reread(payment)
        raise StoreUnavailable("payment kept changing while recovery wrote it")

    def _reread(self, payment: Payment) -> Payment:
        current = self.payments.get_payment(payment.payment_id)
        if current is None:
            raise _Stop
        return current

    # -- evidence and logs ----------------------------------------------------------------------------------------

    @staticmethod
    def _evidence(answer: OrderStatus, decision: str, status: str, now: int) -> CallbackEvidence:
        return CallbackEvidence(
            answer.gateway,
            now * 1000,
            CallbackEvidence.digest(f"{answer.gateway}|{answer.order_id}|{answer.state}".encode()),
            True,
            f"{decision} -> {status}",
            200,
            answer.order_id,
            source=EvidenceSource.STATUS_QUERY,
        )

    @staticmethod
    def _operation_evidence(done: OperationDone, payment: Payment, now: int) -> CallbackEvidence:
        return CallbackEvidence(
            done.gateway,
            now * 1000,
            CallbackEvidence.digest(f"{done.gateway}|{done.order_id}|{done.operation.value}".encode()),
            True,
            f"{done.operation.value} done",
            200,
            payment.payment_id,
            done.transaction_id,
            EvidenceSource.GATEWAY_OPERATION,
        )

    @staticmethod
    def _operation_failed(payment: Payment, answer: OperationAnswer) -> None:
        extra: dict[str, object] = {"payment_id": payment.payment_id, "gateway": answer.gateway}
        if isinstance(answer, NoAnswer):
            extra |= {"operation": answer.operation, "reason": answer.reason.value}
        else:
            extra |= {"operation": answer.operation.value, "detail": getattr(answer, "detail", "")}
        logger.warning("gateway operation not done: asked again at the next check", extra=extra)


_RECOVERED = frozenset(
    {Outcome.SETTLED, Outcome.NEEDS_REVIEW, Outcome.MISMATCH, Outcome.ENDED, Outcome.REFERENCE_ISSUED}
)


def owes_a_check(payment: Payment, now: int) -> bool:
    """Whether the payment's state still owes a question to its gateway (operations-api.md §1)."""
    match payment.status:
        case PaymentStatus.PENDING | PaymentStatus.AWAITING_SETTLEMENT:
            return True
        case PaymentStatus.CANCELLED | PaymentStatus.EXPIRED:
            return in_window(payment, now)
        case PaymentStatus.PAID:
            return payment.capture is Capture.DUE
        case PaymentStatus.NEEDS_REVIEW:
            return owes_reversal(payment)
        case PaymentStatus.FAILED | PaymentStatus.REVERSED:
            return False


def owes_reversal(payment: Payment) -> bool:
    """Flagged because its invoices were paid by another payment, and not returned yet (an amount mismatch, or an
    invoice reloaded at another amount, stays for an operator)."""
    return (
        payment.status is PaymentStatus.NEEDS_REVIEW
        and payment.review_reason == PAID_ELSEWHERE
        and payment.reversal is None
    )


def window_end(payment: Payment) -> int | None:
    """Until when a payment the payer's side ended is still asked about, or None for a method the gateway does not
    know (Fatourati): 24 hours after its creation, as operations-api.md §1 says of card and direct-debit payments —
    the payer may have paid on the gateway's page after leaving ours. The contract is silent on TASHILAT, whose
    reference stays payable at M2T's agencies after our side ended (a cancel reaches no gateway): it is asked about
    for the same 24 hours, and while its reference is payable and a day more (docs/architecture.md)."""
    method = registry.method(payment.gateway, payment.method)
    if method is None or method.kind is MethodKind.REFERENCE:
        return None
    end = payment.created_at + ASK_WINDOW_SECONDS
    if method.kind is MethodKind.REDIRECT_THEN_REFERENCE and payment.reference is not None:
        end = max(end, payment.reference.expires_at + ASK_WINDOW_SECONDS)
    return end


def in_window(payment: Payment, now: int) -> bool:
    """A payment the payer's side ended whose gateway may still take its money (`window_end`)."""
    end = window_end(payment)
    return end is not None and now < end


def _pending(answer: OrderStatus) -> bool:
    """The gateway works on the order still (nothing to apply, and it knows the order)."""
    return answer.notice is None and not answer.unknown_order


def _backoff(checks: int) -> int:
    """1, 2, 4, … minutes after the first, second, third… check; at most hourly."""
    exponent = min(max(checks - 1, 0), 6)
    return min(60 << exponent, MAX_BACKOFF_SECONDS)


__all__ = [
    "ASK_WINDOW_SECONDS",
    "PassReport",
    "RecoveryService",
    "Visit",
    "in_window",
    "owes_a_check",
    "owes_reversal",
    "window_end",
]
