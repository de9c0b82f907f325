"""Holds lapse at `expires_at` (read lazily, never swept): the invoices are payable again, and a gateway success that
arrives later settles only what is still free (api.md §2-§3)."""

import pytest

from epay import runtime
from epay.invoices import InvoiceStatus
from tests.support.factories import an_invoice, response_json
from tests.support.payments import (
    CODE,
    NOW,
    cancel_payment,
    given_invoices,
    held_by,
    iso,
    json_answer,
    notify_m2t,
    pay_by_card,
    payment,
    payment_request,
    post_payment,
    search,
    start_payment,
    stored_invoice,
)

HOLD = 60


@pytest.fixture(autouse=True)
def a_one_minute_hold(monkeypatch):
    monkeypatch.setenv("EPAY_HOLD_SECONDS", str(HOLD))
    runtime.reset()


@pytest.fixture
def invoices(dynamodb, frozen):
    return given_invoices(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="20.50"))


@pytest.fixture
def lapsed(invoices, frozen):
    """A CMI card payment whose hold has just lapsed."""
    created = start_payment(invoices, "CMI", "CARD")
    frozen.advance(HOLD)
    return created


def test_a_hold_is_live_until_its_last_second(invoices, frozen):
    created = start_payment(invoices, "CMI", "CARD")
    frozen.advance(HOLD - 1)
    response = post_payment(payment_request(invoices, "M2T", "CARD"))
    assert response["statusCode"] == 409
    assert response_json(response)["code"] == "INVOICE_NOT_PAYABLE"
    assert payment(created["payment_id"])["status"] == "PENDING"


def test_a_lapsed_hold_reads_as_unpaid(lapsed, invoices):
    listed = search()
    for invoice in invoices:
        assert listed[invoice.invoice_id]["status"] == "UNPAID"
        assert listed[invoice.invoice_id]["hold_expires_at"] is None


def test_a_payment_past_its_expiry_reads_as_expired(lapsed):
    view = payment(lapsed["payment_id"])
    assert view["status"] == "EXPIRED"
    assert view["expires_at"] == iso(NOW + HOLD)


def test_invoices_whose_hold_lapsed_are_payable_again(lapsed, invoices):
    response = post_payment(payment_request(invoices, "M2T", "CARD"))
    assert response["statusCode"] == 201
    second = response_json(response)
    assert [held_by(invoice.invoice_id) for invoice in invoices] == [second["payment_id"]] * 2
    assert search()[invoices[0].invoice_id]["hold_expires_at"] == iso(NOW + 2 * HOLD)


def test_an_expired_payment_cannot_be_cancelled(lapsed):
    response = cancel_payment(lapsed["payment_id"])
    assert response["statusCode"] == 409
    assert response_json(response)["code"] == "PAYMENT_NOT_CANCELLABLE"


def test_a_late_success_settles_an_expired_payment_whose_invoices_are_still_free(lapsed, invoices, frozen):
    frozen.advance(3600)
    assert pay_by_card(lapsed) == (200, "ACTION=POSTAUTH")
    assert payment(lapsed["payment_id"])["status"] == "PAID"
    assert all(stored_invoice(invoice.invoice_id).paid_by == lapsed["payment_id"] for invoice in invoices)


def test_a_late_cmi_success_for_invoices_taken_by_another_payment_is_not_captured(lapsed, invoices):
    # Given another payment took the invoices after the hold lapsed
    second = start_payment(invoices, "M2T", "CARD")
    # When CMI reports the first payment approved
    answer = pay_by_card(lapsed)
    # Then it is not captured and needs review; the other payment keeps its hold
    assert answer == (200, "APPROVED")
    assert payment(lapsed["payment_id"])["status"] == "NEEDS_REVIEW"
    assert payment(second["payment_id"])["status"] == "PENDING"
    listed = search()
    for invoice in invoices:
        assert held_by(invoice.invoice_id) == second["payment_id"]
        assert listed[invoice.invoice_id]["status"] == "PENDING_PAYMENT"


def test_the_payment_that_took_the_invoices_can_still_settle_them(lapsed, invoices):
    second = start_payment(invoices, "CMI", "CARD")
    pay_by_card(lapsed)
    assert pay_by_card(second) == (200, "ACTION=POSTAUTH")
    assert all(stored_invoice(invoice.invoice_id).paid_by == second["payment_id"] for invoice in invoices)


def test_a_late_success_settles_none_of_the_invoices_when_one_was_taken(lapsed, invoices):
    # Given one of the two invoices was taken by another payment after the hold lapsed
    taken, left = invoices
    second = start_payment([taken], "M2T", "CARD")
    # When
    answer = pay_by_card(lapsed)
    # Then all or nothing: the free invoice is not paid either
    assert answer == (200, "APPROVED")
    assert payment(lapsed["payment_id"])["status"] == "NEEDS_REVIEW"
    assert stored_invoice(left.invoice_id).status is InvoiceStatus.UNPAID
    assert held_by(taken.invoice_id) == second["payment_id"]


def test_a_late_m2t_payment_for_invoices_taken_by_another_payment_needs_review(invoices, frozen):
    created = start_payment(invoices, "M2T", "DIRECT_DEBIT")
    frozen.advance(HOLD)
    second = start_payment(invoices, "CMI", "CARD")
    assert json_answer(notify_m2t(created, "PAID")) == (200, {"status": "OK"})
    assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"
    assert [held_by(invoice.invoice_id) for invoice in invoices] == [second["payment_id"]] * 2
