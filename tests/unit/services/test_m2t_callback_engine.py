"""M2T's notification on the in-memory stores: every answer and effect of gateways.md's M2T section, below HTTP.

The same specifications run through the HTTP handler on moto in tests/integration/test_m2t_callback_route.py.
"""

from __future__ import annotations

import pytest

from epay.invoices import InvoiceStatus
from epay.payments import PaymentStatus, UnappliedReason
from tests.support.engine import CODE, HOLD, NOW, REFERENCE_HOLD, UNKNOWN_PAYMENT
from tests.support.factories import an_invoice

OK = (200, {"status": "OK"})
BAD_SIGNATURE = (401, {"status": "INVALID_SIGNATURE"})
MISMATCH = (409, {"status": "AMOUNT_MISMATCH"})


@pytest.fixture
def invoices(h):
    return h.given(an_invoice(CODE, amount="1250.50"), an_invoice(CODE, amount="749.50"))


@pytest.fixture
def created(h, invoices):
    """An M2T card payment of 2000.00 MAD for two invoices, sent to M2T's checkout."""
    return h.start(invoices, "M2T", "CARD")


@pytest.fixture
def tashilat(h, invoices):
    """An M2T TASHILAT payment of 2000.00 MAD, waiting for M2T to issue its reference."""
    return h.start(invoices, "M2T", "TASHILAT")


def assert_waiting(h, created, invoices):
    assert h.payment(created.payment_id).status is PaymentStatus.PENDING
    for invoice in invoices:
        assert h.holder(invoice.invoice_id) == created.payment_id
        assert h.invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


def assert_paid_by(h, invoices, payment_id):
    for invoice in invoices:
        stored = h.invoice(invoice.invoice_id)
        assert (stored.status, stored.paid_by, stored.hold) == (InvoiceStatus.PAID, payment_id, None)


# -- bad or stale signature: 401 --------------------------------------------------------------------------------


def forged_signatures(h, body):
    """Every way `X-M2T-Signature` can fail: absent, garbled, wrong key, MAC or body, more than 300 s off."""
    return {
        "missing": None,
        "empty": "",
        "garbled": "garbage",
        "no v1": f"t={NOW}",
        "wrong mac": f"t={NOW},v1=" + "0" * 64,
        "other secret": h.m2t_signature(body, secret=b"not-the-secret"),
        "other body": h.m2t_signature(body + b" "),
        "301 s old": h.m2t_signature(body, at=NOW - 301),
        "301 s ahead": h.m2t_signature(body, at=NOW + 301),
    }


def test_a_missing_wrong_or_stale_signature_is_401_and_changes_nothing(h, created, invoices):
    body = h.m2t_body(created.payment_id, "PAID", "2000.00")
    before = h.stored()
    for label, signature in forged_signatures(h, body).items():
        assert h.post_m2t(body, signature) == BAD_SIGNATURE, label
    assert h.stored() == before
    assert_waiting(h, created, invoices)


@pytest.mark.parametrize("skew", [-300, 300])
def test_a_signature_300_seconds_off_is_still_accepted(h, created, skew):
    body = h.m2t_body(created.payment_id, "PAID", "2000.00")
    assert h.post_m2t(body, h.m2t_signature(body, at=NOW + skew)) == OK


def test_a_forged_notification_for_an_unknown_order_is_refused_before_it_is_looked_up(h):
    body = h.m2t_body(UNKNOWN_PAYMENT, "PAID", "2000.00")
    assert h.post_m2t(body, h.m2t_signature(body, secret=b"forged")) == BAD_SIGNATURE
    (kept,) = h.evidence
    assert (kept.gateway, kept.verified, kept.answer_status, kept.payment_id) == ("M2T", False, 401, None)


# -- unknown order_ref: 404 -------------------------------------------------------------------------------------


def test_an_unknown_order_ref_is_404_and_changes_nothing(h, created):
    before = h.stored()
    assert h.notify_m2t(h.m2t_body(UNKNOWN_PAYMENT, "PAID", "2000.00")) == (404, {"status": "UNKNOWN_ORDER"})
    assert h.stored() == before


def test_a_notification_for_a_cmi_payment_is_an_unknown_order(h, invoices):
    card = h.start(invoices, "CMI", "CARD")
    before = h.stored()
    assert h.m2t(card, "PAID")[0] == 404
    assert h.stored() == before


# -- amount or currency mismatch: 409, nothing applied, money to return ------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": "1999.99"}, UnappliedReason.AMOUNT_MISMATCH),
        ({"amount": "20000.00"}, UnappliedReason.AMOUNT_MISMATCH),
        ({"currency": "EUR"}, UnappliedReason.CURRENCY_MISMATCH),
    ],
)
def test_a_paid_for_another_amount_or_currency_is_409_and_money_to_return(h, created, invoices, change, reason):
    answer = h.m2t(created, "PAID", transaction_id="TX-OFF", **change)
    assert answer == MISMATCH
    assert_waiting(h, created, invoices)
    (funds,) = h.unapplied(created.payment_id)
    assert (funds.gateway, funds.transaction_id, funds.reason) == ("M2T", "TX-OFF", reason)
    assert (str(funds.amount), funds.currency) == (change.get("amount", "2000.00"), change.get("currency", "MAD"))


def test_the_same_mismatched_paid_again_is_409_and_recorded_once(h, created, counted):
    body = h.m2t_body(created.payment_id, "PAID", "1.00", transaction_id="TX-OFF")
    assert h.notify_m2t(body) == h.notify_m2t(body) == MISMATCH
    assert len(h.unapplied(created.payment_id)) == 1
    assert counted.count("UnappliedFunds") == 1


@pytest.mark.parametrize(
    ("status", "change"),
    [("FAILED", {"amount": "1.00"}), ("CANCELLED", {"currency": "USD"}), ("EXPIRED", {"amount": "1.00"})],
)
def test_an_ending_for_another_amount_or_currency_is_409_and_ends_nothing(h, created, invoices, status, change):
    assert h.m2t(created, status, **change) == MISMATCH
    assert_waiting(h, created, invoices)
    assert h.unapplied(created.payment_id) == []


def test_a_reference_for_another_amount_is_409_and_issues_nothing(h, tashilat, invoices):
    assert h.m2t(tashilat, "REFERENCE_ISSUED", amount="1.00", reference="TSH-1", method="TASHILAT") == MISMATCH
    assert_waiting(h, tashilat, invoices)
    assert h.payment(tashilat.payment_id).reference is None


# -- PAID: 200 OK, PAID -----------------------------------------------------------------------------------------


def test_paid_settles_the_payment_and_its_invoices(h, created, invoices, counted):
    h.advance(45)
    assert h.m2t(created, "PAID", transaction_id="M2T-TX-42") == OK
    paid = h.payment(created.payment_id)
    assert (paid.status, paid.paid_at, paid.gateway_transaction_id) == (PaymentStatus.PAID, NOW + 45, "M2T-TX-42")
    assert_paid_by(h, invoices, created.payment_id)
    assert counted.count("PaymentsPaid") == 1


@pytest.mark.parametrize("ended_by", ["cancel", "expiry"])
def test_paid_after_the_payer_side_ended_still_settles_while_the_invoices_are_free(h, created, invoices, ended_by):
    if ended_by == "cancel":
        h.cancel(created.payment_id)
    else:
        h.advance(HOLD + 60)
    assert h.m2t(created, "PAID") == OK
    assert h.payment(created.payment_id).status is PaymentStatus.PAID
    assert_paid_by(h, invoices, created.payment_id)


# -- duplicate event: 200 OK, nothing more ----------------------------------------------------------------------


def test_the_same_event_again_is_ok_and_changes_nothing(h, created, counted):
    body = h.m2t_body(created.payment_id, "PAID", "2000.00", event_id="evt-1")
    assert h.notify_m2t(body) == OK
    settled = h.stored()
    h.advance(60)
    assert h.notify_m2t(body) == OK
    assert h.stored() == settled
    assert h.unapplied(created.payment_id) == []
    assert counted.count("PaymentsPaid") == 1


def test_the_same_ending_again_is_ok_and_changes_nothing(h, created):
    body = h.m2t_body(created.payment_id, "FAILED", "2000.00", event_id="evt-fail")
    assert h.notify_m2t(body) == OK
    ended = h.stored()
    assert h.notify_m2t(body) == OK
    assert h.stored() == ended


# -- M2T numbers events per order -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["PAID", "FAILED", "CANCELLED", "EXPIRED"])
def test_an_event_id_used_by_one_order_is_applied_to_another_order(h, status):
    first = h.start(h.given(an_invoice(CODE, number="F-EV-1", amount="100.00")), "M2T", "CARD")
    second = h.start(h.given(an_invoice(CODE, number="F-EV-2", amount="200.00")), "M2T", "CARD")
    assert h.m2t(first, status, event_id="7") == OK
    assert h.m2t(second, status, event_id="7") == OK
    assert h.payment(second.payment_id).status is PaymentStatus(status)


# -- REFERENCE_ISSUED: AWAITING_SETTLEMENT, holds extended to the reference's validity --------------------------


def test_reference_issued_awaits_settlement_with_the_reference(h, tashilat):
    assert h.m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-000123", method="TASHILAT") == OK
    issued = h.payment(tashilat.payment_id)
    assert issued.status is PaymentStatus.AWAITING_SETTLEMENT
    assert issued.reference is not None
    assert issued.reference.code == "TSH-000123"


def test_reference_issued_extends_the_holds_to_the_reference_validity(h, tashilat, invoices):
    assert [h.invoice(invoice.invoice_id).hold.expires_at for invoice in invoices] == [NOW + HOLD] * 2
    h.advance(120)
    h.m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-000123", method="TASHILAT")
    until = NOW + 120 + REFERENCE_HOLD
    for invoice in invoices:
        hold = h.invoice(invoice.invoice_id).hold
        assert (hold.payment_id, hold.expires_at) == (tashilat.payment_id, until)
    issued = h.payment(tashilat.payment_id)
    assert issued.expires_at == issued.reference.expires_at == until


def test_a_payment_with_an_issued_reference_stays_payable_past_the_redirect_hold(h, tashilat, invoices):
    h.m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-000123", method="TASHILAT")
    h.advance(2 * 3600)
    assert h.view(tashilat.payment_id).status == "AWAITING_SETTLEMENT"
    assert h.m2t(tashilat, "PAID", reference="TSH-000123", method="TASHILAT") == OK
    assert_paid_by(h, invoices, tashilat.payment_id)


def test_the_same_reference_issued_again_is_ok_and_changes_nothing(h, tashilat):
    body = h.m2t_body(tashilat.payment_id, "REFERENCE_ISSUED", "2000.00", reference="TSH-1", event_id="e-1")
    assert h.notify_m2t(body) == OK
    issued = h.stored()
    h.advance(60)
    assert h.notify_m2t(body) == OK
    assert h.stored() == issued


# -- FAILED, CANCELLED, EXPIRED end the payment and release its holds -------------------------------------------


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "EXPIRED"])
def test_an_ending_ends_the_payment_and_releases_its_holds(h, created, invoices, status):
    assert h.m2t(created, status) == OK
    ended = h.payment(created.payment_id)
    assert ended.status is PaymentStatus(status)
    assert ended.last_error == f"M2T {status}"
    for invoice in invoices:
        stored = h.invoice(invoice.invoice_id)
        assert (stored.status, stored.hold) == (InvoiceStatus.UNPAID, None)


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "EXPIRED"])
def test_an_ending_ends_a_payment_awaiting_settlement_and_releases_its_holds(h, tashilat, invoices, status):
    h.m2t(tashilat, "REFERENCE_ISSUED", reference="TSH-1", method="TASHILAT")
    assert h.m2t(tashilat, status, method="TASHILAT") == OK
    assert h.payment(tashilat.payment_id).status is PaymentStatus(status)
    assert [h.holder(invoice.invoice_id) for invoice in invoices] == [None, None]


def test_released_invoices_can_be_paid_again(h, created, invoices):
    h.m2t(created, "FAILED")
    assert h.start(invoices, "CMI", "CARD").status == "PENDING"


# -- a late FAILED after PAID changes nothing -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "EXPIRED"])
def test_a_late_ending_after_paid_is_ok_and_changes_nothing(h, created, status):
    h.m2t(created, "PAID", transaction_id="M2T-TX-1")
    settled = h.stored()
    assert h.m2t(created, status) == OK
    assert h.stored() == settled


def test_a_late_ending_after_paid_is_kept_as_evidence(h, created):
    h.m2t(created, "PAID", transaction_id="M2T-TX-1")
    h.m2t(created, "FAILED")
    late = h.evidence[-1]
    assert (late.verified, late.payment_id, late.answer_status) == (True, created.payment_id, 200)
    assert late.decision == "recorded, nothing changed"


# -- PAID for invoices already paid by another payment: NEEDS_REVIEW --------------------------------------------


def test_paid_for_invoices_paid_by_another_payment_needs_review(h, created, invoices, counted):
    # Given the payer gave up on this payment and paid the same invoices by direct debit
    h.cancel(created.payment_id)
    other = h.start(invoices, "M2T", "DIRECT_DEBIT")
    assert h.m2t(other, "PAID") == OK
    # When M2T reports the first payment paid after all
    answer = h.m2t(created, "PAID")
    # Then it is flagged for an operator, and the invoices stay with the payment that settled them
    assert answer == OK
    flagged = h.payment(created.payment_id)
    assert (flagged.status, flagged.review_reason) == (PaymentStatus.NEEDS_REVIEW, "INVOICES_PAID_ELSEWHERE")
    assert_paid_by(h, invoices, other.payment_id)
    assert counted.count("NeedsReview") == 1


def test_a_late_paid_for_an_invoice_reloaded_at_another_amount_needs_review(h):
    (invoice,) = h.given(an_invoice(CODE, number="F-REL-1", amount="1020.00"))
    created = h.start([invoice], "M2T", "CARD")
    h.cancel(created.payment_id)
    h.reload(an_invoice(CODE, number="F-REL-1", amount="5000.00"))
    assert h.m2t(created, "PAID") == OK
    flagged = h.payment(created.payment_id)
    assert (flagged.status, flagged.review_reason) == (PaymentStatus.NEEDS_REVIEW, "INVOICE_AMOUNT_CHANGED")
    assert h.invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


# -- a second PAID (another transaction) for a PAID payment: OK, money to return --------------------------------


def test_a_second_paid_with_another_transaction_is_ok_and_money_to_return(h, created, counted):
    h.m2t(created, "PAID", transaction_id="TX-A")
    settled = h.payment(created.payment_id)
    second = h.m2t_body(created.payment_id, "PAID", "2000.00", transaction_id="TX-B")
    assert h.notify_m2t(second) == h.notify_m2t(second) == OK
    assert h.payment(created.payment_id) == settled
    assert [(f.transaction_id, str(f.amount), f.reason) for f in h.unapplied(created.payment_id)] == [
        ("TX-B", "2000.00", UnappliedReason.SECOND_PAYMENT)
    ]
    assert counted.count("UnappliedFunds") == 1
