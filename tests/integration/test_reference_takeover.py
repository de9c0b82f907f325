"""References are soft holds (api.md §8), through the functions on moto's DynamoDB: a card or direct-debit payment
takes over invoices held only by unpaid references, each of which ends `CANCELLED` (`SUPERSEDED`) in the same
transaction; its Fatourati inquiry answers `410`; a superseded TASHILAT payment that M2T settles anyway ends
`NEEDS_REVIEW` and recovery refunds it. tests/unit/services/test_supersede.py holds the same rules on the fakes."""

from __future__ import annotations

import pytest

from epay import runtime
from epay.money import Money
from epay.payments import PaymentStatus
from tests.support.engine import CODE as ENGINE_CODE
from tests.support.factories import an_invoice, response_json
from tests.support.payments import (
    CODE,
    given_invoices,
    held_by,
    inquire,
    notify_m2t,
    payment,
    payment_request,
    post_payment,
    start_payment,
)
from tests.support.recovery import AFTER, Rig


def test_a_card_payment_takes_over_a_fatourati_reference_whose_inquiry_then_answers_410(dynamodb, frozen):
    shared, other = given_invoices(an_invoice(CODE), an_invoice(CODE))
    reference = start_payment([shared, other], "CMI", "FATOURATI")
    code = reference["reference"]["code"]
    assert inquire(code)["statusCode"] == 200

    card = start_payment([shared], "CMI", "CARD")

    assert held_by(shared.invoice_id) == card["payment_id"]
    assert held_by(other.invoice_id) is None
    old = payment(reference["payment_id"])
    assert (old["status"], old["last_error"]) == ("CANCELLED", "SUPERSEDED")
    assert inquire(code)["statusCode"] == 410


@pytest.mark.parametrize("issued", [True, False], ids=["awaiting settlement", "pending"])
def test_a_direct_debit_payment_takes_over_a_tashilat_payment(dynamodb, frozen, issued):
    invoices = given_invoices(an_invoice(CODE), an_invoice(CODE))
    tashilat = start_payment(invoices, "M2T", "TASHILAT")
    if issued:
        notify_m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-000123", method="TASHILAT")
        assert payment(tashilat["payment_id"])["status"] == "AWAITING_SETTLEMENT"

    debit = start_payment(invoices, "M2T", "DIRECT_DEBIT")

    assert all(held_by(invoice.invoice_id) == debit["payment_id"] for invoice in invoices)
    old = payment(tashilat["payment_id"])
    assert (old["status"], old["last_error"]) == ("CANCELLED", "SUPERSEDED")


def test_card_holds_stay_exclusive(dynamodb, frozen):
    (invoice,) = given_invoices(an_invoice(CODE))
    first = start_payment([invoice], "CMI", "CARD")
    response = post_payment(payment_request([invoice], "M2T", "DIRECT_DEBIT"))
    assert response["statusCode"] == 409
    assert response_json(response)["code"] == "INVOICE_NOT_PAYABLE"
    assert held_by(invoice.invoice_id) == first["payment_id"]


def test_a_reference_never_takes_over_a_reference(dynamodb, frozen):
    (invoice,) = given_invoices(an_invoice(CODE))
    first = start_payment([invoice], "CMI", "FATOURATI")
    assert post_payment(payment_request([invoice], "M2T", "TASHILAT"))["statusCode"] == 409
    assert payment(first["payment_id"])["status"] == "AWAITING_SETTLEMENT"


def test_a_superseded_tashilat_payment_settled_anyway_is_reviewed_then_refunded_by_recovery(dynamodb):
    rig = Rig()
    rig.h.invoices = runtime.invoice_store()  # type: ignore[assignment]
    rig.h.payments = runtime.payment_store()  # type: ignore[assignment]
    invoice = an_invoice(ENGINE_CODE, amount="100.00")
    rig.h.invoices.upsert_invoice(invoice, rig.h.now)
    tashilat = rig.h.start([invoice], "M2T", "TASHILAT")
    rig.m2t.set_state(tashilat.payment_id, "REFERENCE_ISSUED", tashilat.amount)
    assert rig.h.m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-REF-0001", method="TASHILAT")[0] == 200
    card = rig.h.start([invoice], "CMI", "CARD")
    assert rig.payment(tashilat.payment_id).last_error == "SUPERSEDED"
    assert rig.h.cmi_success(card) == (200, "ACTION=POSTAUTH")

    rig.m2t.pay(tashilat.payment_id, tashilat.amount)
    assert rig.h.m2t(tashilat, "PAID", method="TASHILAT")[0] == 200
    reviewed = rig.payment(tashilat.payment_id)
    assert (reviewed.status, reviewed.review_reason) == (PaymentStatus.NEEDS_REVIEW, "INVOICES_PAID_ELSEWHERE")

    rig.later(AFTER)
    for _ in range(30):  # recovery's passes, each a while after the last, until the refund is recorded
        if rig.payment(tashilat.payment_id).status is PaymentStatus.REVERSED:
            break
        rig.later(AFTER)
    assert rig.payment(tashilat.payment_id).status is PaymentStatus.REVERSED
    assert rig.kept(tashilat.payment_id) == Money(0)
    assert rig.h.invoices.get_invoices([invoice.invoice_id])[invoice.invoice_id].paid_by == card.payment_id
