"""Recovery against DynamoDB's own conditions (moto): whatever the interleaving of passes, callbacks and cancels,
one settlement, one capture, one reversal (operations-api.md §1, rule 5)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from epay import runtime
from epay.payments import Capture, PaymentStatus
from tests.support.engine import CODE
from tests.support.factories import an_invoice
from tests.support.recovery import AFTER, Rig


@pytest.fixture
def rig(dynamodb) -> Rig:
    """The rig on the functions' DynamoDB stores instead of the in-memory ones."""
    rig = Rig()
    rig.h.invoices = runtime.invoice_store()  # type: ignore[assignment]
    rig.h.payments = runtime.payment_store()  # type: ignore[assignment]
    return rig


def a_card_payment(rig: Rig, amount: str = "120.50", code: str = CODE):
    invoice = an_invoice(code, amount=amount)
    rig.h.invoices.upsert_invoice(invoice, rig.h.now)
    return rig.h.start([invoice], "CMI", "CARD", code=code)


def test_two_passes_at_once_settle_and_capture_once(rig):
    created = a_card_payment(rig)
    rig.cmi.authorise(created.payment_id, created.amount)
    rig.h.advance(AFTER)
    start = threading.Barrier(2)

    def one_pass():
        start.wait()
        return rig.recovery.run_pass()

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: one_pass(), range(2)))

    assert all(report.completed for report in reports)
    payment = rig.payment(created.payment_id)
    assert payment.status is PaymentStatus.PAID
    assert payment.capture is Capture.DONE
    assert rig.cmi.done == {"CAPTURE": 1}


def test_concurrent_passes_over_many_payments_capture_each_exactly_once(rig):
    # (one code each: a code has at most EPAY_LIVE_PAYMENTS_PER_CODE live payments)
    created = [a_card_payment(rig, f"{n}.00", code=f"RR{n:02d}") for n in range(1, 13)]
    for payment in created:
        rig.cmi.authorise(payment.payment_id, payment.amount)
    rig.h.advance(AFTER)

    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda _: rig.recovery.run_pass(), range(4)))

    assert all(report.completed for report in reports)
    assert rig.cmi.done == {"CAPTURE": 12}
    assert {rig.payment(p.payment_id).status for p in created} == {PaymentStatus.PAID}


def test_a_callback_landing_between_the_status_answer_and_its_application_settles_once(rig):
    created = a_card_payment(rig)
    rig.cmi.authorise(created.payment_id, created.amount)
    rig.h.advance(AFTER)
    asked = rig.cmi.status

    def answer_then_callback(payment):
        answer = asked(payment)
        assert rig.h.cmi_success(created) == (200, "ACTION=POSTAUTH")  # the lost callback arrives after all
        return answer

    rig.cmi.status = answer_then_callback  # type: ignore[method-assign]
    rig.run()

    payment = rig.payment(created.payment_id)
    assert payment.status is PaymentStatus.PAID
    assert payment.capture is Capture.DONE
    assert rig.cmi.done["CAPTURE"] <= 1  # CMI captures once, on our answer or on PostAuth (the other is refused)
    assert payment.settled_by == f"CMI|{created.payment_id}|26015K1Q0001|00"  # one report: callback = status


def test_a_cancel_landing_between_the_status_answer_and_its_application_still_settles_once(rig):
    created = a_card_payment(rig)
    rig.cmi.authorise(created.payment_id, created.amount)
    rig.h.advance(AFTER)
    asked = rig.cmi.status

    def answer_then_cancel(payment):
        answer = asked(payment)
        rig.h.cancel(created.payment_id)  # the payer gives up on our page; they did pay on CMI's
        return answer

    rig.cmi.status = answer_then_cancel  # type: ignore[method-assign]
    rig.run()

    payment = rig.payment(created.payment_id)
    assert payment.status is PaymentStatus.PAID
    assert rig.cmi.done == {"CAPTURE": 1}
    assert rig.h.invoices.get_invoices(payment.invoice_ids)[payment.invoice_ids[0]].paid_by == created.payment_id
