"""CMI's callback on the in-memory stores: every row of gateways.md's CMI answer table, one level below HTTP.

Each callback is built as CMI builds it: every field of the form the payment sent, CMI's result, a fresh rnd, and
the HASH over all of them. The same specifications run through the HTTP handler on moto in
tests/integration/test_cmi_callback_route.py.
"""

from __future__ import annotations

import pytest

from epay.gateways import cmi
from epay.invoices import InvoiceStatus
from epay.payments import PaymentStatus, UnappliedReason
from tests.support.engine import CMI_STORE_KEY, CODE, HOLD, UNKNOWN_PAYMENT, cmi_signed
from tests.support.factories import an_invoice

POSTAUTH = (200, "ACTION=POSTAUTH")
APPROVED = (200, "APPROVED")
FAILURE_403 = (403, "FAILURE")


@pytest.fixture
def invoices(h):
    return h.given(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="20.50"))


@pytest.fixture
def created(h, invoices):
    """A CMI card payment of 120.50 MAD for two invoices, sent to CMI's page."""
    return h.start(invoices, "CMI", "CARD")


def assert_waiting(h, created, invoices):
    """The payment is still waiting for CMI and still holds every invoice, unpaid."""
    assert h.payment(created.payment_id).status is PaymentStatus.PENDING
    for invoice in invoices:
        assert h.holder(invoice.invoice_id) == created.payment_id
        assert h.invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


def assert_paid_by(h, invoices, payment_id):
    for invoice in invoices:
        stored = h.invoice(invoice.invoice_id)
        assert (stored.status, stored.paid_by, stored.hold) == (InvoiceStatus.PAID, payment_id, None)


def assert_unpaid(h, invoices):
    for invoice in invoices:
        stored = h.invoice(invoice.invoice_id)
        assert (stored.status, stored.paid_by) == (InvoiceStatus.UNPAID, None)


# -- the callback is built from what the payment sent -----------------------------------------------------------


def test_the_callback_echoes_every_field_the_payment_sent_with_a_fresh_rnd_and_a_valid_hash(h, created):
    fields = h.cmi_fields(created)
    echoed = dict(fields)
    sent = created.redirect.fields
    assert {name: echoed[name] for name in sent if name not in ("HASH", "rnd")} == {
        name: value for name, value in sent.items() if name not in ("HASH", "rnd")
    }
    assert echoed["rnd"] != sent["rnd"]
    assert cmi.verify(fields, CMI_STORE_KEY)


# -- HASH wrong or missing: 403 FAILURE, nothing -----------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda fields: [(n, "Zm9yZ2Vk" + v if n == "HASH" else v) for n, v in fields], id="wrong"),
        pytest.param(lambda fields: [(n, v) for n, v in fields if n != "HASH"], id="missing"),
        pytest.param(lambda fields: cmi_signed(fields, store_key="not-the-store-key"), id="other-store-key"),
        pytest.param(lambda fields: [(n, "0.01" if n == "amount" else v) for n, v in fields], id="amount-changed"),
    ],
)
def test_a_wrong_or_missing_hash_is_403_failure_and_changes_nothing(h, created, invoices, tamper):
    before = h.stored()
    assert h.post_cmi(tamper(h.cmi_fields(created))) == FAILURE_403
    assert h.stored() == before
    assert_waiting(h, created, invoices)


def test_a_refused_hash_is_kept_as_unverified_evidence(h, created):
    h.post_cmi(cmi_signed(h.cmi_fields(created), store_key="forged"))
    (kept,) = h.evidence
    assert (kept.gateway, kept.verified, kept.answer_status, kept.payment_id) == ("CMI", False, 403, None)


def test_a_forged_callback_for_an_unknown_oid_is_refused_before_it_is_looked_up(h, created):
    fields = h.cmi_fields(created, oid=UNKNOWN_PAYMENT, store_key="forged")
    assert h.post_cmi(fields) == FAILURE_403


# -- a verified callback that is not what this payment sent (CMI's HASH signs values, never names): 403 ----------


@pytest.mark.parametrize(
    "change",
    [{"shopurl": "https://www.example.ma/"}, {"email": "autre@example.ma"}, {"TranType": "Auth"}],
    ids=lambda change: next(iter(change)),
)
def test_a_verified_callback_altering_an_echoed_field_is_403_failure_and_changes_nothing(h, created, change, counted):
    before = h.stored()
    assert h.cmi_success(created, **change) == FAILURE_403
    assert h.stored() == before
    assert counted.count("CallbackRejected") == 1


def test_a_verified_callback_missing_an_echoed_field_is_403_failure_and_changes_nothing(h, created):
    before = h.stored()
    fields = cmi_signed([(name, value) for name, value in h.cmi_fields(created) if name != "okUrl"])
    assert h.post_cmi(fields) == FAILURE_403
    assert h.stored() == before


def test_a_verified_callback_with_a_field_name_cmi_never_sends_is_403_failure_and_changes_nothing(h, created):
    before = h.stored()
    assert h.cmi_success(created, Extra1="") == FAILURE_403
    assert h.stored() == before


def test_a_verified_callback_re_addressed_to_another_live_payment_is_403_failure(h, created):
    other_payer = {"name": "Marsa Maroc", "email": "tresorerie@example.ma"}
    other = h.start(h.given(an_invoice(CODE, amount="120.50")), "CMI", "CARD", payer=other_payer)
    before = h.stored()
    assert h.cmi_success(created, oid=other.payment_id) == FAILURE_403
    assert h.stored() == before


# -- unknown oid: 404 FAILURE ------------------------------------------------------------------------------------


def test_a_valid_callback_for_an_unknown_oid_is_404_failure_and_changes_nothing(h, created, invoices):
    before = h.stored()
    assert h.post_cmi(h.cmi_fields(created, oid=UNKNOWN_PAYMENT)) == (404, "FAILURE")
    assert h.stored() == before
    assert_waiting(h, created, invoices)


@pytest.mark.parametrize(("gateway", "method"), [("M2T", "CARD"), ("CMI", "FATOURATI")])
def test_a_callback_for_a_payment_never_sent_to_cmis_page_is_404_failure(h, gateway, method):
    # Given a card payment the payer cancelled, and another payment of the same invoices that CMI's page never saw
    invoices = h.given(an_invoice(CODE, amount="100.00"))
    card = h.start(invoices, "CMI", "CARD")
    h.cancel(card.payment_id)
    other = h.start(invoices, gateway, method)
    before = h.stored()
    # When a valid card callback names the other payment
    answer = h.post_cmi(h.cmi_fields(card, oid=other.payment_id))
    # Then CMI is told it does not exist, and nothing changes
    assert answer == (404, "FAILURE")
    assert h.stored() == before


# -- valid success, amount and currency equal, invoices held by it or free: ACTION=POSTAUTH, PAID ----------------


def test_a_valid_success_is_captured_and_settles_the_payment_and_its_invoices(h, created, invoices, counted):
    h.advance(45)
    assert h.cmi_success(created, trans_id="T-42") == POSTAUTH
    paid = h.payment(created.payment_id)
    assert (paid.status, paid.paid_at, paid.gateway_transaction_id) == (PaymentStatus.PAID, h.now, "T-42")
    assert_paid_by(h, invoices, created.payment_id)
    assert counted.count("PaymentsPaid") == 1


def test_a_settled_payment_keeps_its_callback_as_evidence(h, created):
    h.cmi_success(created)
    (kept,) = h.evidence
    assert (kept.gateway, kept.verified, kept.answer_status, kept.payment_id) == ("CMI", True, 200, created.payment_id)


@pytest.mark.parametrize("ended_by", ["cancel", "expiry"])
def test_a_late_success_after_the_payer_side_ended_settles_while_the_invoices_are_free(h, created, invoices, ended_by):
    # Given the payer cancelled, or the hold lapsed
    if ended_by == "cancel":
        h.cancel(created.payment_id)
    else:
        h.advance(HOLD + 60)
    # When CMI reports the payment approved after all
    answer = h.cmi_success(created)
    # Then it is captured: the payer did pay
    assert answer == POSTAUTH
    assert h.payment(created.payment_id).status is PaymentStatus.PAID
    assert_paid_by(h, invoices, created.payment_id)


@pytest.mark.parametrize(("amounts", "echoed"), [(("100.00", "20.50"), "120.5"), (("1000.00", "20.00"), "1020")])
def test_the_echoed_amount_compares_as_a_decimal(h, amounts, echoed):
    created = h.start(h.given(*(an_invoice(CODE, amount=amount) for amount in amounts)), "CMI", "CARD")
    assert h.cmi_success(created, amount=echoed) == POSTAUTH
    assert h.payment(created.payment_id).status is PaymentStatus.PAID


# -- the same success again: ACTION=POSTAUTH, nothing more ------------------------------------------------------


def test_the_same_success_again_gets_the_same_answer_and_changes_nothing(h, created, counted):
    fields = h.cmi_fields(created)
    assert h.post_cmi(fields) == POSTAUTH
    settled = h.stored()
    h.advance(30)
    assert h.post_cmi(fields) == POSTAUTH
    assert h.stored() == settled
    assert h.unapplied(created.payment_id) == []
    assert counted.count("PaymentsPaid") == 1


# -- ProcReturnCode != 00: APPROVED, last_error, stays PENDING ---------------------------------------------------


def test_a_declined_attempt_is_approved_and_leaves_the_payment_pending_with_the_error(h, created, invoices):
    assert h.cmi_decline(created, "05", error_message="Do not honour") == APPROVED
    declined = h.payment(created.payment_id)
    assert declined.status is PaymentStatus.PENDING
    assert declined.last_error == "CMI 05: Do not honour"
    assert declined.paid_at is None
    assert_waiting(h, created, invoices)


def test_a_success_after_a_declined_attempt_settles_and_clears_the_error(h, created):
    h.cmi_decline(created, "51", trans_id="T-DECLINED")
    assert h.cmi_success(created, trans_id="T-APPROVED") == POSTAUTH
    paid = h.payment(created.payment_id)
    assert (paid.status, paid.gateway_transaction_id, paid.last_error) == (PaymentStatus.PAID, "T-APPROVED", None)


def test_a_decline_after_the_payment_is_paid_changes_nothing(h, created):
    h.cmi_success(created, trans_id="T-APPROVED")
    settled = h.stored()
    assert h.cmi_decline(created, "05", trans_id="T-DECLINED") == APPROVED
    assert h.stored() == settled


# -- amount or currency differ: APPROVED, NEEDS_REVIEW (AMOUNT_MISMATCH) -----------------------------------------


@pytest.mark.parametrize("change", [{"amount": "120.49"}, {"amount": "1205.00"}, {"currency": "840"}])
def test_a_success_for_another_amount_or_currency_is_not_captured_and_needs_review(h, created, invoices, change):
    assert h.cmi_success(created, **change) == APPROVED
    flagged = h.payment(created.payment_id)
    assert (flagged.status, flagged.review_reason, flagged.paid_at) == (
        PaymentStatus.NEEDS_REVIEW,
        "AMOUNT_MISMATCH",
        None,
    )
    assert_unpaid(h, invoices)


def test_a_mismatched_success_releases_the_holds_and_is_counted_for_review(h, created, invoices, counted):
    h.cmi_success(created, amount="1.00")
    assert [h.holder(invoice.invoice_id) for invoice in invoices] == [None, None]
    assert counted.count("NeedsReview") == 1


def test_the_same_mismatched_success_again_gets_the_same_answer_and_changes_nothing(h, created):
    fields = h.cmi_fields(created, amount="1.00")
    assert h.post_cmi(fields) == APPROVED
    flagged = h.stored()
    assert h.post_cmi(fields) == APPROVED
    assert h.stored() == flagged


# -- invoices paid by another payment: APPROVED, NEEDS_REVIEW (INVOICES_PAID_ELSEWHERE) -------------------------


def test_a_success_for_invoices_paid_by_another_payment_is_not_captured_and_needs_review(h, created, invoices):
    # Given the payer cancelled, then paid the same invoices with another payment
    h.cancel(created.payment_id)
    other = h.start(invoices, "CMI", "CARD")
    assert h.cmi_success(other, trans_id="T-OTHER") == POSTAUTH
    # When CMI reports the first attempt approved after all
    answer = h.cmi_success(created, trans_id="T-LATE")
    # Then it is not captured, and the invoices stay settled by the other payment
    assert answer == APPROVED
    flagged = h.payment(created.payment_id)
    assert (flagged.status, flagged.review_reason) == (PaymentStatus.NEEDS_REVIEW, "INVOICES_PAID_ELSEWHERE")
    assert h.payment(other.payment_id).status is PaymentStatus.PAID
    assert_paid_by(h, invoices, other.payment_id)


# -- an invoice reloaded at another amount: NEEDS_REVIEW (INVOICE_AMOUNT_CHANGED) --------------------------------


def test_a_late_success_for_an_invoice_reloaded_at_another_amount_is_not_captured(h):
    # Given a 1020.00 payment, cancelled, then its invoice reloaded by the issuer at 5000.00
    invoices = h.given(an_invoice(CODE, number="F-REL-1", amount="1020.00"))
    created = h.start(invoices, "CMI", "CARD")
    h.cancel(created.payment_id)
    reloaded = an_invoice(CODE, number="F-REL-1", amount="5000.00")
    h.reload(reloaded)
    # When CMI reports the 1020.00 success late
    answer = h.cmi_success(created)
    # Then it is not captured, the payment is flagged, and the 5000.00 invoice is untouched
    assert answer == APPROVED
    flagged = h.payment(created.payment_id)
    assert (flagged.status, flagged.review_reason) == (PaymentStatus.NEEDS_REVIEW, "INVOICE_AMOUNT_CHANGED")
    stored = h.invoice(reloaded.invoice_id)
    assert (stored.status, str(stored.amount)) == (InvoiceStatus.UNPAID, "5000.00")


def test_a_late_success_for_an_invoice_reloaded_unchanged_still_settles(h):
    invoices = h.given(an_invoice(CODE, number="F-REL-2", amount="1020.00"))
    created = h.start(invoices, "CMI", "CARD")
    h.cancel(created.payment_id)
    h.reload(an_invoice(CODE, number="F-REL-2", amount="1020.00"))
    assert h.cmi_success(created) == POSTAUTH
    assert h.payment(created.payment_id).status is PaymentStatus.PAID


# -- a second success (another TransId) on a PAID payment: APPROVED, money to return -----------------------------


def test_another_success_for_a_paid_payment_is_not_captured_and_is_money_to_return(h, created, invoices, counted):
    # Given the payment settled by T-FIRST
    assert h.cmi_success(created, trans_id="T-FIRST") == POSTAUTH
    settled = h.payment(created.payment_id)
    # When CMI reports a second approval, T-SECOND, for the same oid
    answer = h.cmi_success(created, trans_id="T-SECOND")
    # Then it is not captured; the payment is exactly as it settled; T-SECOND is listed as money to return
    assert answer == APPROVED
    assert h.payment(created.payment_id) == settled
    assert_paid_by(h, invoices, created.payment_id)
    (funds,) = h.unapplied(created.payment_id)
    assert (funds.gateway, funds.transaction_id, str(funds.amount), funds.currency, funds.reason) == (
        "CMI",
        "T-SECOND",
        "120.50",
        "504",
        UnappliedReason.SECOND_PAYMENT,
    )
    assert funds.reported_at == h.now
    assert counted.count("UnappliedFunds") == 1


def test_the_same_second_success_again_is_recorded_once(h, created, counted):
    h.cmi_success(created, trans_id="T-FIRST")
    second = h.cmi_fields(created, trans_id="T-SECOND")
    assert h.post_cmi(second) == h.post_cmi(second) == APPROVED
    assert [funds.transaction_id for funds in h.unapplied(created.payment_id)] == ["T-SECOND"]
    assert counted.count("UnappliedFunds") == 1
