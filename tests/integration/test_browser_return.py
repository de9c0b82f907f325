"""`GET|POST /v1/payments/{id}/return` (api.md §5): the payer's browser back from the gateway. It is sent on to the
E-PAIEMENT page and never changes state, whatever it carries (a browser can be forged)."""

import pytest

from tests.support.factories import an_invoice
from tests.support.payments import (
    CODE,
    FRONTEND_URL,
    browser_return,
    cmi_callback,
    form,
    freeze_clock,
    given_invoices,
    held_by,
    m2t_notification,
    pay_by_card,
    payment,
    search,
    start_payment,
)


@pytest.fixture
def invoices(dynamodb, monkeypatch):
    freeze_clock(monkeypatch)
    return given_invoices(an_invoice(CODE, amount="100.00"))


@pytest.fixture
def created(invoices):
    return start_payment(invoices, "CMI", "CARD")


def assert_sent_to_the_frontend(response, payment_id):
    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == f"{FRONTEND_URL}?payment={payment_id}"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_browser_is_sent_to_the_frontend_with_the_payment_id(created, method):
    response = browser_return(method, created["payment_id"])
    assert_sent_to_the_frontend(response, created["payment_id"])


def test_a_browser_posting_a_validly_signed_cmi_success_changes_nothing(created, invoices):
    # CMI's okUrl receives the same signed fields as the callback; only the server-to-server callback counts.
    body = form(cmi_callback(created))
    response = browser_return(
        "POST", created["payment_id"], raw_body=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_sent_to_the_frontend(response, created["payment_id"])
    assert payment(created["payment_id"])["status"] == "PENDING"
    assert held_by(invoices[0].invoice_id) == created["payment_id"]
    assert search()[invoices[0].invoice_id]["status"] == "PENDING_PAYMENT"


def test_a_browser_posting_an_m2t_paid_notification_changes_nothing(invoices):
    created = start_payment(invoices, "M2T", "CARD")
    body = m2t_notification(created["payment_id"], "PAID", created["amount"])
    response = browser_return("POST", created["payment_id"], raw_body=body)
    assert_sent_to_the_frontend(response, created["payment_id"])
    assert payment(created["payment_id"])["status"] == "PENDING"


def test_returning_to_a_paid_payment_leaves_it_paid(created):
    pay_by_card(created)
    for method in ("GET", "POST"):
        assert_sent_to_the_frontend(browser_return(method, created["payment_id"]), created["payment_id"])
    assert payment(created["payment_id"])["status"] == "PAID"
