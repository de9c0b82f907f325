"""`epay schedule-recovery`: mark for recovery the payments written before recovery existed, once.

Releases before recovery (issue 11) wrote payments without a recovery check: a payment left open by a lost callback
then, a review whose money must be returned, or a CMI authorisation our callback answer asked CMI to capture, would
never be asked about. This one-off operator batch reads every payment (a `Scan`: acceptable for a one-off batch; no
route and no pass ever scans) and, for each one without a check that owes one now, writes its check as due at once:
- open payments of a method whose gateway knows the order (card, direct debit, TASHILAT);
- card and direct-debit payments cancelled or expired less than 24 hours ago;
- `NEEDS_REVIEW` payments flagged `INVOICES_PAID_ELSEWHERE` and not reversed;
- CMI card payments settled in the last `CAPTURE_LOOKBACK_SECONDS` that never recorded a capture: recovery asks CMI
  and captures only an authorisation still there (`A`); a captured one (`C`) is just recorded.
Each write is conditional on the version read (a payment that moved meanwhile is read again). It is idempotent: a
payment with a check, or owing none, is left as it is, so an interrupted run is simply run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from epay.adapters.dynamodb.payments import DynamoPaymentStore
from epay.gateways import cmi
from epay.payments import Capture, Payment, PaymentStatus
from epay.ports import PaymentChanged
from epay.recovery import owes_a_check

# CMI keeps an uncaptured authorisation for days, not weeks: older settled payments are not looked at again.
CAPTURE_LOOKBACK_SECONDS = 7 * 86_400
_ATTEMPTS = 3


@dataclass
class BackfillReport:
    """Counts only: no id, no code."""

    scheduled: int = 0
    captures_to_check: int = 0
    already_scheduled: int = 0
    owing_nothing: int = 0
    changed_meanwhile: int = 0


def _marked(payment: Payment, now: int) -> Payment | None:
    """The payment with its check due now (and a capture to check), or None when it owes none."""
    legacy_capture = (
        payment.status is PaymentStatus.PAID
        and payment.gateway == cmi.NAME
        and payment.method == "CARD"
        and payment.capture is None
        and payment.paid_at is not None
        and now - payment.paid_at < CAPTURE_LOOKBACK_SECONDS
    )
    if legacy_capture:
        return payment.amended(capture=Capture.DUE).scheduled(now)
    if owes_a_check(payment, now) and payment.method != "FATOURATI":
        return payment.scheduled(now)
    return None


def schedule_recovery(payments: DynamoPaymentStore, now: int) -> BackfillReport:
    report = BackfillReport()
    for found in payments.scan_payments():
        payment: Payment | None = found
        for _attempt in range(_ATTEMPTS):
            if payment is None:
                break
            if payment.recovery.due is not None:
                report.already_scheduled += 1
                break
            marked = _marked(payment, now)
            if marked is None:
                report.owing_nothing += 1
                break
            try:
                payments.transition(payment, marked, None)
            except PaymentChanged:
                payment = payments.get_payment(payment.payment_id)
                continue
            report.scheduled += 1
            report.captures_to_check += marked.capture is Capture.DUE and payment.capture is None
            break
        else:
            report.changed_meanwhile += 1
    return report
