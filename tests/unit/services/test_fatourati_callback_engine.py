"""The Fatourati bank channel on the in-memory stores: inquiry and confirm, every answer of gateways.md's
FATOURATI section, below HTTP.

A confirm is part of the debit: whatever it refuses, the bank takes nothing. The same specifications run through
the HTTP handler on moto in tests/integration/test_fatourati_routes.py.
"""

from __future__ import annotations

import pytest

from epay.clock import iso_instant
from epay.gateways import fatourati
from epay.invoices import InvoiceStatus
from epay.payments import PaymentStatus
from tests.support.engine import CODE, NOW, REFERENCE_HOLD, reference_of
from tests.support.factories import an_invoice

APPLIED = (200, {"code": "000"})
ALREADY_APPLIED = (200, {"code": "301"})
GONE = (410, {"code": "410"})
UNKNOWN = (404, {"code": "404"})
BAD_SIGNATURE = (401, {"code": "401"})
AMOUNT_MISMATCH = (409, {"code": "420"})


@pytest.fixture
def invoices(h):
    return h.given(
        an_invoice(CODE, number="F-2026-000201", amount="2000.00"),
        an_invoice(CODE, number="F-2026-000202", amount="500.00"),
    )


@pytest.fixture
def created(h, invoices):
    """A FATOURATI payment of 2500.00 MAD: its reference waits for the bank channel."""
    return h.start(invoices, "CMI", "FATOURATI")


@pytest.fixture
def reference(created):
    return reference_of(created)


def an_unissued_reference(issued):
    """A well-formed reference (valid check digit) that was never issued."""
    return next(
        candidate
        for candidate in (fatourati.new_reference(f"{seed:011d}") for seed in range(100))
        if candidate != issued
    )


def assert_awaiting(h, created, invoices):
    """The reference is still payable: the payment awaits settlement and holds its invoices, unpaid."""
    payment = h.payment(created.payment_id)
    assert (payment.status, payment.paid_at) == (PaymentStatus.AWAITING_SETTLEMENT, None)
    for invoice in invoices:
        assert h.holder(invoice.invoice_id) == created.payment_id
        assert h.invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


def assert_unpaid(h, invoices):
    for invoice in invoices:
        assert h.invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


# -- signature missing, wrong or stale: 401 ----------------------------------------------------------------------


def forged_signatures(h, body):
    """Every way `X-Fatourati-Signature` can fail: absent, garbled, wrong key, MAC or body, more than 300 s off."""
    return {
        "missing": None,
        "garbled": "garbage",
        "wrong mac": f"t={NOW},v1=" + "0" * 64,
        "other secret": h.fatourati_signature(body, secret=b"not-the-secret"),
        "other body": h.fatourati_signature(b'{"reference": "000000000000"}'),
        "301 s old": h.fatourati_signature(body, at=NOW - 301),
        "301 s ahead": h.fatourati_signature(body, at=NOW + 301),
    }


def test_an_inquiry_with_a_missing_wrong_or_stale_signature_is_401(h, reference):
    body = h.inquiry_body(reference)
    for label, signature in forged_signatures(h, body).items():
        assert h.post_inquiry(body, signature) == BAD_SIGNATURE, label


def test_a_confirm_with_a_missing_wrong_or_stale_signature_is_401_and_changes_nothing(h, created, invoices, reference):
    body = h.confirm_body(reference, "2500.00")
    before = h.stored()
    for label, signature in forged_signatures(h, body).items():
        assert h.post_confirm(body, signature) == BAD_SIGNATURE, label
    assert h.stored() == before
    assert_awaiting(h, created, invoices)


@pytest.mark.parametrize("skew", [-300, 300])
def test_a_signature_300_seconds_off_is_still_accepted(h, reference, skew):
    body = h.inquiry_body(reference)
    status, answer = h.post_inquiry(body, h.fatourati_signature(body, at=NOW + skew))
    assert (status, answer["code"]) == (200, "000")


def test_a_forged_request_is_refused_before_it_is_looked_up_and_kept_as_unverified_evidence(h, reference):
    body = h.confirm_body(an_unissued_reference(reference), "2500.00")
    assert h.post_confirm(body, h.fatourati_signature(body, secret=b"forged")) == BAD_SIGNATURE
    (kept,) = h.evidence
    assert (kept.gateway, kept.verified, kept.answer_status, kept.payment_id) == ("FATOURATI", False, 401, None)


# -- inquiry ----------------------------------------------------------------------------------------------------


def test_an_inquiry_answers_the_amount_issuer_invoices_and_expiry(h, reference):
    assert h.inquire(reference) == (
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
            "expires_at": iso_instant(NOW + REFERENCE_HOLD),
        },
    )


def test_an_inquiry_changes_nothing(h, created, invoices, reference):
    before = h.stored()
    h.inquire(reference)
    assert h.stored() == before
    assert_awaiting(h, created, invoices)


def test_an_inquiry_just_before_expiry_still_answers_what_is_due(h, reference):
    h.advance(REFERENCE_HOLD - 1)
    status, answer = h.inquire(reference)
    assert (status, answer["code"]) == (200, "000")


@pytest.mark.parametrize(
    "unknown",
    [
        pytest.param(lambda issued: an_unissued_reference(issued), id="never-issued"),
        pytest.param(lambda issued: issued[:-1] + str((int(issued[-1]) + 1) % 10), id="bad-check-digit"),
        pytest.param(lambda issued: issued[:-1], id="too-short"),
        pytest.param(lambda issued: "ABCDEFGHIJKL", id="letters"),
    ],
)
def test_an_inquiry_for_an_unknown_reference_is_404(h, reference, unknown):
    assert h.inquire(unknown(reference)) == UNKNOWN


def test_an_inquiry_for_a_cancelled_reference_is_410(h, created, reference):
    h.cancel(created.payment_id)
    assert h.inquire(reference) == GONE


def test_an_inquiry_for_an_expired_reference_is_410(h, reference):
    h.advance(REFERENCE_HOLD)
    assert h.inquire(reference) == GONE


def test_an_inquiry_for_a_paid_reference_is_410(h, reference):
    h.confirm(reference, "2500.00")
    assert h.inquire(reference) == GONE


# -- confirm: 000 applied ---------------------------------------------------------------------------------------


def test_a_confirmation_is_applied_and_settles_the_payment_and_its_invoices(h, created, invoices, reference, counted):
    h.advance(3600)
    assert h.confirm(reference, "2500.00", transaction_id="FTR-77") == APPLIED
    paid = h.payment(created.payment_id)
    assert (paid.status, paid.paid_at, paid.gateway_transaction_id) == (PaymentStatus.PAID, NOW + 3600, "FTR-77")
    for invoice in invoices:
        stored = h.invoice(invoice.invoice_id)
        assert (stored.status, stored.paid_by, stored.hold) == (InvoiceStatus.PAID, created.payment_id, None)
    assert counted.count("PaymentsPaid") == 1


# -- confirm: 301 the same transaction_id again -----------------------------------------------------------------


def test_the_same_transaction_again_is_301_and_changes_nothing(h, created, reference, counted):
    body = h.confirm_body(reference, "2500.00", transaction_id="FTR-77")
    assert h.post_confirm(body, h.fatourati_signature(body)) == APPLIED
    settled = h.stored()
    h.advance(60)
    assert h.post_confirm(body, h.fatourati_signature(body)) == ALREADY_APPLIED
    assert h.stored() == settled
    assert h.unapplied(created.payment_id) == []
    assert counted.count("PaymentsPaid") == 1


# -- confirm: 410 not payable (nothing applied, the bank must not debit) ----------------------------------------


def test_a_confirmation_for_a_cancelled_reference_is_410_and_nothing_is_applied(h, created, invoices, reference):
    h.cancel(created.payment_id)
    assert h.confirm(reference, "2500.00") == GONE
    assert h.payment(created.payment_id).status is PaymentStatus.CANCELLED
    assert_unpaid(h, invoices)
    assert h.unapplied(created.payment_id) == []


def test_a_confirmation_for_an_expired_reference_is_410_and_nothing_is_applied(h, created, invoices, reference):
    h.advance(REFERENCE_HOLD + 1)
    assert h.confirm(reference, "2500.00") == GONE
    assert h.view(created.payment_id).status == "EXPIRED"
    assert_unpaid(h, invoices)
    assert h.unapplied(created.payment_id) == []


def test_another_transaction_for_a_paid_reference_is_410_and_the_payment_is_unchanged(h, created, reference):
    h.confirm(reference, "2500.00", transaction_id="FTR-1")
    settled = h.payment(created.payment_id)
    assert h.confirm(reference, "2500.00", transaction_id="FTR-2") == GONE
    assert h.payment(created.payment_id) == settled
    assert settled.gateway_transaction_id == "FTR-1"


def test_another_transaction_refused_for_a_paid_reference_is_not_money_to_return(h, created, reference, counted):
    # Given a reference paid by FTR-1
    h.confirm(reference, "2500.00", transaction_id="FTR-1")
    # When the bank channel confirms FTR-2 for it and is told 410: not payable, do not debit
    assert h.confirm(reference, "2500.00", transaction_id="FTR-2") == GONE
    # Then the bank took nothing, so there is nothing to return
    assert h.unapplied(created.payment_id) == []
    assert "UnappliedFunds" not in counted


def test_a_reference_whose_invoices_were_paid_by_card_meanwhile_is_not_payable(h):
    # Given the payer cancelled the reference and paid the same invoices by card
    invoices = h.given(an_invoice(CODE, amount="100.00"))
    created = h.start(invoices, "CMI", "FATOURATI")
    h.cancel(created.payment_id)
    card = h.start(invoices, "CMI", "CARD")
    h.cmi_success(card)
    # When the bank channel asks, then confirms
    assert h.inquire(reference_of(created)) == GONE
    assert h.confirm(reference_of(created), "100.00") == GONE
    # Then the reference's payment is not applied and the invoice stays the card payment's
    assert h.payment(created.payment_id).status is PaymentStatus.CANCELLED
    assert h.invoice(invoices[0].invoice_id).paid_by == card.payment_id


# -- confirm: 409 420 amount mismatch, and no money to return ---------------------------------------------------


@pytest.mark.parametrize(("amount", "currency"), [("2499.99", "MAD"), ("25000.00", "MAD"), ("2500.00", "EUR")])
def test_a_confirmation_for_another_amount_or_currency_is_409_420_and_nothing_is_applied(
    h, created, invoices, reference, amount, currency
):
    before = h.stored()
    assert h.confirm(reference, amount, currency=currency) == AMOUNT_MISMATCH
    assert h.stored() == before
    assert_awaiting(h, created, invoices)


def test_a_confirmation_refused_for_its_amount_is_not_money_to_return(h, created, reference, counted):
    h.confirm(reference, "90.00")
    assert h.unapplied(created.payment_id) == []
    assert "UnappliedFunds" not in counted


# -- a transaction_id applied to another reference: 410 ---------------------------------------------------------


def test_a_transaction_applied_to_one_reference_is_not_applied_to_another(h):
    # Given two references, the first confirmed by transaction FTR-9
    first_invoices = h.given(an_invoice(CODE, amount="100.00"))
    second_invoices = h.given(an_invoice(CODE, amount="100.00"))
    first = h.start(first_invoices, "CMI", "FATOURATI")
    second = h.start(second_invoices, "CMI", "FATOURATI")
    assert h.confirm(reference_of(first), "100.00", transaction_id="FTR-9") == APPLIED
    # When the same transaction is confirmed for the second reference
    answer = h.confirm(reference_of(second), "100.00", transaction_id="FTR-9")
    # Then it is not payable there: nothing applied, nothing to return
    assert answer == GONE
    assert_awaiting(h, second, second_invoices)
    assert h.unapplied(second.payment_id) == []
    assert h.payment(first.payment_id).status is PaymentStatus.PAID


# -- confirm: 404 unknown ---------------------------------------------------------------------------------------


def test_a_confirmation_for_an_unknown_reference_is_404_and_changes_nothing(h, reference):
    before = h.stored()
    assert h.confirm(an_unissued_reference(reference), "2500.00") == UNKNOWN
    assert h.stored() == before


def test_a_card_payment_cannot_be_confirmed_by_its_payment_id(h):
    card = h.start(h.given(an_invoice(CODE, amount="100.00")), "CMI", "CARD")
    assert h.confirm(card.payment_id, "100.00") == UNKNOWN
    assert h.payment(card.payment_id).status is PaymentStatus.PENDING
