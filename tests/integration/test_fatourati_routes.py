"""`POST /v1/callbacks/fatourati/inquiry` and `/confirm` (gateways.md, FATOURATI), through the gateway_callback
function: the bank channel asks what a reference is due, then confirms it paid."""

import json

import pytest

from epay.gateways import fatourati
from epay.invoices import InvoiceStatus
from tests.support.factories import an_invoice
from tests.support.payments import (
    CODE,
    NOW,
    SECRETS,
    cancel_payment,
    confirm,
    confirmation,
    fail_transactions,
    fatourati_signature,
    given_invoices,
    held_by,
    inquire,
    iso,
    json_answer,
    pay_by_card,
    payment,
    post_fatourati,
    search,
    start_payment,
    stored_invoice,
    throttling,
)

APPLIED = (200, {"code": "000"})
ALREADY_APPLIED = (200, {"code": "301"})
GONE = (410, {"code": "410"})
UNKNOWN = (404, {"code": "404"})
BAD_SIGNATURE = (401, {"code": "401"})
AMOUNT_MISMATCH = (409, {"code": "420"})
REFERENCE_HOLD = 259_200


@pytest.fixture
def invoices(dynamodb, frozen):
    return given_invoices(
        an_invoice(CODE, number="F-2026-000201", amount="2000.00"),
        an_invoice(CODE, number="F-2026-000202", amount="500.00"),
    )


@pytest.fixture
def created(invoices):
    """A FATOURATI payment of 2500.00 MAD: its reference is waiting for the bank channel."""
    return start_payment(invoices, "CMI", "FATOURATI")


def reference_of(created):
    return created["reference"]["code"]


def an_unissued_reference(issued):
    """A well-formed reference (valid check digit) that was never issued."""
    for seed in range(100):
        candidate = fatourati.new_reference(f"{seed:011d}")
        if candidate != issued:
            return candidate
    raise AssertionError("no free reference")


def assert_untouched(created, invoices):
    view = payment(created["payment_id"])
    assert view["status"] == "AWAITING_SETTLEMENT"
    assert view["paid_at"] is None
    for invoice in invoices:
        assert held_by(invoice.invoice_id) == created["payment_id"]
        assert stored_invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


def assert_not_applied(created, invoices, status):
    assert payment(created["payment_id"])["status"] == status
    for invoice in invoices:
        assert stored_invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


# -- inquiry --------------------------------------------------------------------------------------------------


def test_an_inquiry_answers_what_is_due_invoice_by_invoice_and_until_when(created):
    answer = json_answer(inquire(reference_of(created)))
    assert answer == (
        200,
        {
            "code": "000",
            "amount": "2500.00",
            "currency": "MAD",
            "biller": "PORTNET",
            "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
            "invoices": [
                {"invoice_number": "F-2026-000201", "amount": "2000.00"},
                {"invoice_number": "F-2026-000202", "amount": "500.00"},
            ],
            "expires_at": iso(NOW + REFERENCE_HOLD),
        },
    )


def test_an_inquiry_changes_nothing(created, invoices):
    inquire(reference_of(created))
    assert_untouched(created, invoices)


def test_an_inquiry_for_an_unknown_reference_is_404(created):
    issued = reference_of(created)
    unknown = {
        "never issued": an_unissued_reference(issued),
        "bad check digit": issued[:-1] + str((int(issued[-1]) + 1) % 10),
        "too short": issued[:-1],
        "letters": "ABCDEFGHIJKL",
    }
    for label, reference in unknown.items():
        assert json_answer(inquire(reference)) == UNKNOWN, label


def test_an_inquiry_for_a_cancelled_reference_is_410(created):
    cancel_payment(created["payment_id"])
    assert json_answer(inquire(reference_of(created))) == GONE


def test_an_inquiry_for_an_expired_reference_is_410(created, frozen):
    frozen.advance(REFERENCE_HOLD)
    assert json_answer(inquire(reference_of(created))) == GONE


def test_an_inquiry_just_before_expiry_still_answers_what_is_due(created, frozen):
    frozen.advance(REFERENCE_HOLD - 1)
    status, body = json_answer(inquire(reference_of(created)))
    assert (status, body["code"]) == (200, "000")


def test_an_inquiry_for_a_paid_reference_is_410(created):
    confirm(reference_of(created), "2500.00")
    assert json_answer(inquire(reference_of(created))) == GONE


# -- signature ------------------------------------------------------------------------------------------------


def forged_signatures(body):
    """Every way a signature header can fail: absent, wrong key or body or MAC, more than 300 s off."""
    return {
        "missing": None,
        "garbled": "garbage",
        "wrong mac": f"t={NOW},v1=" + "0" * 64,
        "other secret": fatourati_signature(body, secret=b"not-the-secret"),
        "other body": fatourati_signature(b'{"reference": "000000000000"}'),
        "301 s old": fatourati_signature(body, at=NOW - 301),
        "301 s ahead": fatourati_signature(body, at=NOW + 301),
    }


@pytest.mark.parametrize("route", ["inquiry", "confirm"])
def test_a_missing_wrong_or_stale_signature_is_401_and_changes_nothing(created, invoices, route):
    reference = reference_of(created)
    body = json.dumps(confirmation(reference, "2500.00") if route == "confirm" else {"reference": reference}).encode()
    for label, signature in forged_signatures(body).items():
        assert json_answer(post_fatourati(route, body, signature)) == BAD_SIGNATURE, label
    assert_untouched(created, invoices)


def test_a_forged_request_for_an_unknown_reference_is_refused_before_it_is_looked_up(created):
    reference = an_unissued_reference(reference_of(created))
    for payload in ({"reference": reference}, confirmation(reference, "2500.00")):
        route = "confirm" if "transaction_id" in payload else "inquiry"
        body = json.dumps(payload).encode()
        assert json_answer(post_fatourati(route, body, fatourati_signature(body, secret=b"forged"))) == BAD_SIGNATURE


def test_a_signature_300_seconds_off_is_still_accepted(created):
    body = json.dumps({"reference": reference_of(created)}).encode()
    for skew in (-300, 300):
        status, answer = json_answer(post_fatourati("inquiry", body, fatourati_signature(body, at=NOW + skew)))
        assert (status, answer["code"]) == (200, "000"), skew


# -- confirm --------------------------------------------------------------------------------------------------


def test_a_confirmation_is_applied_and_settles_the_payment_and_its_invoices(created, invoices, frozen):
    frozen.advance(3600)
    answer = json_answer(confirm(reference_of(created), "2500.00", transaction_id="FTR-77"))
    assert answer == APPLIED
    view = payment(created["payment_id"])
    assert (view["status"], view["paid_at"], view["gateway_transaction_id"]) == ("PAID", iso(NOW + 3600), "FTR-77")
    for invoice in invoices:
        stored = stored_invoice(invoice.invoice_id)
        assert (stored.status, stored.paid_by) == (InvoiceStatus.PAID, created["payment_id"])
    assert search() == {}


def test_the_same_transaction_again_is_301_and_changes_nothing(created, invoices, frozen):
    body = confirmation(reference_of(created), "2500.00", transaction_id="FTR-77")
    assert json_answer(post_fatourati("confirm", body)) == APPLIED
    settled = payment(created["payment_id"])
    frozen.advance(60)
    assert json_answer(post_fatourati("confirm", body)) == ALREADY_APPLIED
    assert payment(created["payment_id"]) == settled


def test_another_transaction_for_a_paid_reference_is_410(created):
    confirm(reference_of(created), "2500.00", transaction_id="FTR-1")
    assert json_answer(confirm(reference_of(created), "2500.00", transaction_id="FTR-2")) == GONE
    assert payment(created["payment_id"])["gateway_transaction_id"] == "FTR-1"


def test_a_confirmation_for_a_cancelled_reference_is_410_and_nothing_is_applied(created, invoices):
    cancel_payment(created["payment_id"])
    assert json_answer(confirm(reference_of(created), "2500.00")) == GONE
    assert_not_applied(created, invoices, "CANCELLED")


def test_a_confirmation_for_an_expired_reference_is_410_and_nothing_is_applied(created, invoices, frozen):
    frozen.advance(REFERENCE_HOLD + 1)
    assert json_answer(confirm(reference_of(created), "2500.00")) == GONE
    assert_not_applied(created, invoices, "EXPIRED")


def test_a_confirmation_for_an_unknown_reference_is_404(created, invoices):
    assert json_answer(confirm(an_unissued_reference(reference_of(created)), "2500.00")) == UNKNOWN
    assert_untouched(created, invoices)


def test_a_confirmation_for_another_amount_is_409_420_and_nothing_is_applied(created, invoices):
    for amount, currency in [("2499.99", "MAD"), ("25000.00", "MAD"), ("2500.00", "EUR")]:
        answer = json_answer(confirm(reference_of(created), amount, currency=currency))
        assert answer == AMOUNT_MISMATCH, (amount, currency)
    assert_untouched(created, invoices)


def test_a_transaction_applied_to_one_reference_is_not_applied_to_another(dynamodb, frozen):
    # Given two references, the first confirmed by transaction FTR-9
    first_invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    second_invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    first = start_payment(first_invoices, "CMI", "FATOURATI")
    second = start_payment(second_invoices, "CMI", "FATOURATI")
    assert json_answer(confirm(reference_of(first), "100.00", transaction_id="FTR-9")) == APPLIED
    # When the same transaction is confirmed for the second reference
    _, answer = json_answer(confirm(reference_of(second), "100.00", transaction_id="FTR-9"))
    # Then it is not applied there
    assert answer["code"] != "000"
    assert_untouched(second, second_invoices)
    assert payment(first["payment_id"])["status"] == "PAID"


def test_a_card_payment_cannot_be_confirmed_through_a_reference_it_does_not_have(dynamodb, frozen):
    card_invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    card = start_payment(card_invoices, "CMI", "CARD")
    assert json_answer(confirm(card["payment_id"], "100.00")) == UNKNOWN
    assert payment(card["payment_id"])["status"] == "PENDING"


def test_a_storage_failure_is_503_and_nothing_is_applied(created, invoices, monkeypatch):
    fail_transactions(monkeypatch, throttling())
    status, _ = json_answer(confirm(reference_of(created), "2500.00"))
    assert status == 503
    assert_untouched(created, invoices)


def test_a_reference_paid_by_card_meanwhile_is_not_payable(dynamodb, frozen):
    # Given the payer cancelled the reference and paid the same invoices by card
    invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    created = start_payment(invoices, "CMI", "FATOURATI")
    cancel_payment(created["payment_id"])
    card = start_payment(invoices, "CMI", "CARD")
    pay_by_card(card)
    # When the bank channel asks, then confirms
    assert json_answer(inquire(reference_of(created))) == GONE
    assert json_answer(confirm(reference_of(created), "100.00")) == GONE
    # Then the reference's payment is not applied
    assert payment(created["payment_id"])["status"] == "CANCELLED"
    assert stored_invoice(invoices[0].invoice_id).paid_by == card["payment_id"]


# -- what is never written out --------------------------------------------------------------------------------


def test_logs_never_contain_the_secrets_or_the_code(created, logs):
    inquire(reference_of(created))
    inquire(reference_of(created), signature="t=1,v1=00")
    confirm(reference_of(created), "1.00")
    confirm(reference_of(created), "2500.00")
    assert len(logs.lines()) >= 3
    text = logs.text()
    assert CODE.lower() not in text.lower()
    for secret in SECRETS:
        assert secret not in text
