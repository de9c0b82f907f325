"""`POST /v1/callbacks/m2t` (gateways.md, M2T): signed JSON notifications, through the gateway_callback function."""

import pytest

from epay.invoices import InvoiceStatus
from tests.support.factories import an_invoice
from tests.support.payments import (
    CODE,
    NOW,
    SECRETS,
    cancel_payment,
    fail_transactions,
    given_invoices,
    held_by,
    iso,
    json_answer,
    m2t_notification,
    m2t_signature,
    notify_m2t,
    payment,
    post_m2t,
    search,
    start_payment,
    stored_invoice,
    throttling,
    transaction_conflict,
)

OK = (200, {"status": "OK"})


@pytest.fixture
def invoices(dynamodb, frozen):
    return given_invoices(an_invoice(CODE, amount="1250.50"), an_invoice(CODE, amount="749.50"))


@pytest.fixture
def created(invoices):
    """An M2T card payment of 2000.00 MAD, waiting for M2T."""
    return start_payment(invoices, "M2T", "CARD")


@pytest.fixture
def tashilat(invoices):
    """An M2T TASHILAT payment of 2000.00 MAD, waiting for its reference."""
    return start_payment(invoices, "M2T", "TASHILAT")


def assert_untouched(created, invoices):
    assert payment(created["payment_id"])["status"] == "PENDING"
    for invoice in invoices:
        assert held_by(invoice.invoice_id) == created["payment_id"]
        assert stored_invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


def assert_paid_by(invoices, payment_id):
    for invoice in invoices:
        stored = stored_invoice(invoice.invoice_id)
        assert (stored.status, stored.paid_by) == (InvoiceStatus.PAID, payment_id)


# -- signature ------------------------------------------------------------------------------------------------


def test_a_missing_wrong_or_stale_signature_is_401_and_changes_nothing(created, invoices):
    body = m2t_notification(created["payment_id"], "PAID", "2000.00")
    forged = {
        "missing": None,
        "empty": "",
        "no v1": f"t={NOW}",
        "no t": "v1=" + m2t_signature(body).split("v1=")[1],
        "garbled": "garbage",
        "wrong mac": f"t={NOW},v1=" + "0" * 64,
        "other secret": m2t_signature(body, secret=b"not-the-secret"),
        "other body": m2t_signature(m2t_notification(created["payment_id"], "FAILED", "2000.00")),
        "301 s old": m2t_signature(body, at=NOW - 301),
        "301 s ahead": m2t_signature(body, at=NOW + 301),
        "a day old": m2t_signature(body, at=NOW - 86_400),
    }
    for label, signature in forged.items():
        assert post_m2t(body, signature)["statusCode"] == 401, label
    assert_untouched(created, invoices)


def test_a_signature_300_seconds_off_is_still_accepted(dynamodb, frozen):
    for skew in (-300, 300):
        created = start_payment(given_invoices(an_invoice(CODE, amount="10.00")), "M2T", "CARD")
        body = m2t_notification(created["payment_id"], "PAID", "10.00")
        assert json_answer(post_m2t(body, m2t_signature(body, at=NOW + skew))) == OK, skew
        assert payment(created["payment_id"])["status"] == "PAID"


def test_a_forged_notification_for_an_unknown_order_is_refused_before_it_is_looked_up(created):
    body = m2t_notification("PAY-NOSUCHPAYMENT0000000000000", "PAID", "2000.00")
    assert post_m2t(body, m2t_signature(body, secret=b"forged"))["statusCode"] == 401


# -- unknown order, mismatch ----------------------------------------------------------------------------------


def test_an_unknown_order_ref_is_404(created, invoices):
    body = m2t_notification("PAY-NOSUCHPAYMENT0000000000000", "PAID", "2000.00")
    assert post_m2t(body)["statusCode"] == 404
    assert_untouched(created, invoices)


def test_an_amount_or_currency_mismatch_is_409_and_nothing_is_applied(created, invoices):
    mismatches = [
        ("PAID", {"amount": "1999.99"}),
        ("PAID", {"amount": "20000.00"}),
        ("PAID", {"currency": "EUR"}),
        ("FAILED", {"amount": "1.00"}),
        ("CANCELLED", {"currency": "USD"}),
        ("REFERENCE_ISSUED", {"amount": "1.00", "reference": "TSH-000123"}),
    ]
    for status, change in mismatches:
        assert notify_m2t(created, status, **change)["statusCode"] == 409, (status, change)
    assert_untouched(created, invoices)


# -- PAID -----------------------------------------------------------------------------------------------------


def test_paid_settles_the_payment_and_its_invoices(created, invoices, frozen):
    frozen.advance(45)
    answer = json_answer(notify_m2t(created, "PAID", transaction_id="M2T-TX-42"))
    assert answer == OK
    view = payment(created["payment_id"])
    assert (view["status"], view["paid_at"], view["gateway_transaction_id"]) == ("PAID", iso(NOW + 45), "M2T-TX-42")
    assert_paid_by(invoices, created["payment_id"])
    assert search() == {}


def test_the_same_event_again_is_ok_and_changes_nothing(created, invoices, frozen):
    body = m2t_notification(created["payment_id"], "PAID", "2000.00", event_id="evt-1")
    first = json_answer(post_m2t(body))
    settled = payment(created["payment_id"])
    frozen.advance(60)
    again = json_answer(post_m2t(body))
    assert first == again == OK
    assert payment(created["payment_id"]) == settled
    assert_paid_by(invoices, created["payment_id"])


def test_paid_for_invoices_paid_by_another_payment_needs_review(created, invoices):
    # Given the payer gave up on this payment and paid the same invoices by direct debit
    cancel_payment(created["payment_id"])
    other = start_payment(invoices, "M2T", "DIRECT_DEBIT")
    assert json_answer(notify_m2t(other, "PAID")) == OK
    # When M2T reports the first payment paid after all
    answer = json_answer(notify_m2t(created, "PAID"))
    # Then it is flagged for an operator, and the invoices stay with the payment that settled them
    assert answer == OK
    assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"
    assert_paid_by(invoices, other["payment_id"])


def test_paid_after_the_payer_cancelled_still_settles_while_the_invoices_are_free(created, invoices):
    cancel_payment(created["payment_id"])
    assert json_answer(notify_m2t(created, "PAID")) == OK
    assert payment(created["payment_id"])["status"] == "PAID"
    assert_paid_by(invoices, created["payment_id"])


# -- endings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "EXPIRED"])
def test_an_ending_ends_the_payment_and_releases_its_holds(created, invoices, status):
    assert json_answer(notify_m2t(created, status)) == OK
    assert payment(created["payment_id"])["status"] == status
    listed = search()
    for invoice in invoices:
        assert listed[invoice.invoice_id]["status"] == "UNPAID"
        assert held_by(invoice.invoice_id) is None


def test_released_invoices_can_be_paid_again(created, invoices):
    notify_m2t(created, "FAILED")
    again = start_payment(invoices, "CMI", "CARD")
    assert again["status"] == "PENDING"


def test_a_late_failure_after_paid_is_ok_and_changes_nothing(created, invoices):
    notify_m2t(created, "PAID", transaction_id="M2T-TX-1")
    settled = payment(created["payment_id"])
    assert json_answer(notify_m2t(created, "FAILED")) == OK
    assert payment(created["payment_id"]) == settled
    assert_paid_by(invoices, created["payment_id"])


# -- TASHILAT reference ---------------------------------------------------------------------------------------


def test_reference_issued_awaits_settlement_with_the_reference(tashilat):
    answer = json_answer(notify_m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-000123", method="TASHILAT"))
    assert answer == OK
    view = payment(tashilat["payment_id"])
    assert view["status"] == "AWAITING_SETTLEMENT"
    assert view["reference"]["code"] == "TSH-000123"


def test_reference_issued_extends_the_holds_to_the_reference_validity(tashilat, invoices, frozen):
    assert search()[invoices[0].invoice_id]["hold_expires_at"] == iso(NOW + 1800)
    frozen.advance(120)
    notify_m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-000123", method="TASHILAT")
    until = iso(NOW + 120 + 259_200)
    listed = search()
    for invoice in invoices:
        assert listed[invoice.invoice_id]["status"] == "PENDING_PAYMENT"
        assert listed[invoice.invoice_id]["hold_expires_at"] == until
    view = payment(tashilat["payment_id"])
    assert view["expires_at"] == view["reference"]["expires_at"] == until


def test_a_tashilat_payment_stays_payable_past_the_redirect_hold_once_its_reference_is_issued(tashilat, frozen):
    notify_m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-000123", method="TASHILAT")
    frozen.advance(2 * 3600)
    assert payment(tashilat["payment_id"])["status"] == "AWAITING_SETTLEMENT"
    assert json_answer(notify_m2t(tashilat, "PAID", reference="TSH-000123", method="TASHILAT")) == OK
    assert payment(tashilat["payment_id"])["status"] == "PAID"


def test_the_same_reference_issued_again_is_ok_and_changes_nothing(tashilat, frozen):
    body = m2t_notification(tashilat["payment_id"], "REFERENCE_ISSUED", "2000.00", reference="TSH-1", event_id="e-1")
    first = json_answer(post_m2t(body))
    issued = payment(tashilat["payment_id"])
    frozen.advance(60)
    again = json_answer(post_m2t(body))
    assert first == again == OK
    assert payment(tashilat["payment_id"]) == issued


# -- storage failure ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [("PAID", throttling()), ("PAID", transaction_conflict()), ("FAILED", throttling())],
    ids=["paid-throttled", "paid-conflict", "failed-throttled"],
)
def test_a_storage_failure_is_503_and_changes_nothing(created, invoices, monkeypatch, status, error):
    fail_transactions(monkeypatch, error)
    assert notify_m2t(created, status)["statusCode"] == 503
    assert_untouched(created, invoices)


def test_m2t_retrying_after_a_storage_failure_settles(created, invoices, monkeypatch):
    body = m2t_notification(created["payment_id"], "PAID", "2000.00")
    with monkeypatch.context() as failing:
        fail_transactions(failing, throttling())
        assert post_m2t(body)["statusCode"] == 503
    assert json_answer(post_m2t(body)) == OK
    assert_paid_by(invoices, created["payment_id"])


# -- what is never written out --------------------------------------------------------------------------------


def test_logs_never_contain_the_secrets_or_the_code(created, logs):
    body = m2t_notification(created["payment_id"], "PAID", "2000.00")
    post_m2t(body, m2t_signature(body, secret=b"forged"))
    notify_m2t(created, "PAID", amount="1.00")
    notify_m2t(created, "PAID")
    assert len(logs.lines()) >= 3
    text = logs.text()
    assert CODE.lower() not in text.lower()
    for secret in SECRETS:
        assert secret not in text


def test_a_notification_for_a_payment_sent_to_another_gateway_is_unknown_to_m2t(dynamodb, frozen):
    # M2T only knows the orders it was sent: a CMI card payment's id is not one of them.
    invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    card = start_payment(invoices, "CMI", "CARD")
    assert notify_m2t(card, "PAID")["statusCode"] == 404
    assert payment(card["payment_id"])["status"] == "PENDING"
    assert stored_invoice(invoices[0].invoice_id).status is InvoiceStatus.UNPAID
