"""Proof of payment (operations-api.md §7) on the in-memory stores: the receipt code a settlement gives, and the
public verification by code (`ReceiptVerifier`).

The same specifications run through the HTTP handler on moto in tests/integration/test_receipt_routes.py.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from epay import callbacks, receipts
from epay.errors import DomainError
from epay.payments import PaymentStatus, Reversal, ReversalAction
from epay.receipt_service import ReceiptDocuments
from epay.receipts import MailState, ReceiptMail
from tests.support.engine import CODE, NOW, PAYER, UNKNOWN_PAYMENT, Harness
from tests.support.factories import an_invoice


@pytest.fixture
def invoices(h):
    return h.given(an_invoice(CODE, number="F-2026-000101", amount="1000.00"), an_invoice(CODE, amount="20.50"))


def paid_by_card(h: Harness, invoices) -> str:
    created = h.start(invoices)
    assert h.cmi_success(created) == (200, "ACTION=POSTAUTH")
    return created.payment_id


def refusal(call, *args) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call(*args)
    return refused.value


def draws(monkeypatch, *codes: str) -> list[str]:
    """Receipt codes drawn in this order (then fresh ones); returns the list of those drawn so far."""
    queue, drawn = list(codes), []

    def draw() -> str:
        code = queue.pop(0) if queue else receipts.new_receipt_code()
        drawn.append(code)
        return code

    monkeypatch.setattr(callbacks, "new_receipt_code", draw)
    return drawn


# -- the code: given when the payment becomes PAID ---------------------------------------------------------------


def test_a_payment_has_no_receipt_code_until_it_is_paid(h, invoices):
    created = h.start(invoices)
    assert h.view(created.payment_id).receipt_code is None
    h.cmi_decline(created)
    assert h.view(created.payment_id).receipt_code is None


def test_settling_gives_the_payment_a_receipt_code_in_its_view(h, invoices):
    payment_id = paid_by_card(h, invoices)
    view = h.view(payment_id)
    assert view.status == "PAID"
    assert re.fullmatch(receipts.PATTERN, view.receipt_code)
    assert h.payment(payment_id).receipt_code == view.receipt_code
    assert h.payments.payment_id_for_receipt(view.receipt_code) == payment_id


def test_a_duplicated_success_keeps_the_first_code(h, invoices):
    created = h.start(invoices)
    h.cmi_success(created)
    first = h.view(created.payment_id).receipt_code
    assert h.cmi_success(created) == (200, "ACTION=POSTAUTH")
    assert h.view(created.payment_id).receipt_code == first
    assert list(h.payments.receipts) == [first]


def test_each_gateway_s_settlement_gives_a_code(h):
    m2t_invoice, fatourati_invoice = h.given(an_invoice(CODE, amount="10.00"), an_invoice(CODE, amount="20.00"))
    by_m2t = h.start([m2t_invoice], "M2T", "CARD")
    h.m2t(by_m2t, "PAID")
    by_fatourati = h.start([fatourati_invoice], "CMI", "FATOURATI")
    h.confirm(by_fatourati.reference.code, by_fatourati.amount)
    codes = {h.view(created.payment_id).receipt_code for created in (by_m2t, by_fatourati)}
    assert None not in codes
    assert len(codes) == 2


def test_a_code_already_given_is_drawn_again_and_the_payment_settles_with_the_new_one(h, invoices, monkeypatch):
    earlier = paid_by_card(h, h.given(an_invoice(CODE, amount="5.00")))
    taken = h.payment(earlier).receipt_code
    drawn = draws(monkeypatch, taken)
    payment_id = paid_by_card(h, invoices)
    assert drawn[0] == taken
    assert len(drawn) == 2
    assert h.payment(payment_id).receipt_code == drawn[1] != taken
    assert h.payments.payment_id_for_receipt(taken) == earlier
    assert h.payments.payment_id_for_receipt(drawn[1]) == payment_id


def test_a_generator_that_keeps_colliding_settles_nothing_and_asks_the_gateway_to_retry(h, invoices, monkeypatch):
    earlier = paid_by_card(h, h.given(an_invoice(CODE, amount="5.00")))
    taken = h.payment(earlier).receipt_code
    monkeypatch.setattr(callbacks, "new_receipt_code", lambda: taken)
    created = h.start(invoices)
    before = h.stored()
    assert h.cmi_success(created) == (500, "FAILURE")  # CMI's retry answer: nothing was written, CMI posts again
    assert h.stored() == before


def test_a_payment_flagged_for_review_gets_no_code(h, invoices):
    created = h.start(invoices)
    h.cmi_success(created, amount="1.00")
    assert h.payment(created.payment_id).status is PaymentStatus.NEEDS_REVIEW
    assert h.view(created.payment_id).receipt_code is None
    assert h.payments.receipts == {}


def test_settling_queues_the_receipt_s_e_mail_once(h, invoices):
    payment_id = paid_by_card(h, invoices)
    assert h.payments.mail == {ReceiptMail.queued(payment_id, NOW): MailState.PENDING}
    h.cmi_success(h.start(h.given(an_invoice(CODE, amount="1.00"))))
    assert len(h.payments.mail) == 2


# -- verification by code ----------------------------------------------------------------------------------------


def test_a_receipt_verifies_with_what_it_paid_and_nothing_of_the_payer(h, invoices):
    payment_id = paid_by_card(h, invoices)
    code = h.view(payment_id).receipt_code
    verified = h.verify(code).model_dump(mode="json")
    assert verified == {
        "receipt_code": code,
        "status": "PAID",
        "payment_id": payment_id,
        "paid_at": "2026-11-27T10:15:00Z",
        "amount": "1020.50",
        "currency": "MAD",
        "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
        "gateway": "CMI",
        "method": "CARD",
        "invoices": [
            {"invoice_number": "F-2026-000101", "amount": "1000.00"},
            {"invoice_number": invoices[1].invoice_number, "amount": "20.50"},
        ],
    }
    shown = str(verified)
    assert CODE not in shown
    assert not [value for value in PAYER.values() if value in shown]


def test_a_code_typed_in_groups_or_lower_case_verifies(h, invoices):
    code = h.view(paid_by_card(h, invoices)).receipt_code
    assert h.verify(receipts.grouped(code).lower()).receipt_code == code


def test_a_reversed_payment_keeps_its_code_and_verifies_as_reversed(h, invoices):
    payment_id = paid_by_card(h, invoices)
    paid = h.payment(payment_id)
    # No transition reverses a PAID payment today; a payment holding a code that is REVERSED must say so.
    h.payments.payments[payment_id] = replace(
        paid, status=PaymentStatus.REVERSED, reversal=Reversal(ReversalAction.REFUND, NOW + 60, "operator")
    )
    assert h.view(payment_id).receipt_code == paid.receipt_code
    assert h.verify(paid.receipt_code).status == "REVERSED"


@pytest.mark.parametrize("typed", ["0123456789ABCDEF", "0123-4567-89AB-CDEF", "not a code", "U" * 16, "x" * 300])
def test_an_unknown_or_malformed_code_is_receipt_not_found_without_repeating_it(h, invoices, typed):
    paid_by_card(h, invoices)
    error = refusal(h.verify, typed)
    assert (error.status, error.code, error.errors) == (404, "RECEIPT_NOT_FOUND", [])
    assert typed not in error.detail


def test_a_malformed_code_reads_nothing(h, monkeypatch):
    read = []
    monkeypatch.setattr(h.payments, "payment_id_for_receipt", lambda code: read.append(code))
    refusal(h.verify, "not-a-receipt-code")
    assert read == []


# -- the budgets: like the lookup's --------------------------------------------------------------------------------


def test_verifications_are_limited_per_address_and_minute(h, invoices):
    code = h.view(paid_by_card(h, invoices)).receipt_code
    for _ in range(60):
        h.verify(code, "198.51.100.7")
    error = refusal(h.verify, code, "198.51.100.7")
    assert (error.status, error.code) == (429, "RATE_LIMITED")
    assert int(error.headers["Retry-After"]) <= 60
    assert h.verify(code, "198.51.100.8").receipt_code == code  # another address


def test_unknown_codes_spend_the_miss_budget_then_every_verification_waits_for_the_hour(h, invoices):
    code = h.view(paid_by_card(h, invoices)).receipt_code
    for _ in range(20):
        assert refusal(h.verify, receipts.new_receipt_code(), "198.51.100.9").code == "RECEIPT_NOT_FOUND"
        h.advance(5)  # within the per-minute limit
    # Past the budget even a real code is refused: the refusal says nothing about any code.
    error = refusal(h.verify, code, "198.51.100.9")
    assert (error.status, error.code) == (429, "RATE_LIMITED")
    assert int(error.headers["Retry-After"]) > 60
    h.advance(3600)
    assert h.verify(code, "198.51.100.9").receipt_code == code


def test_found_receipts_spend_no_miss(h, invoices):
    code = h.view(paid_by_card(h, invoices)).receipt_code
    for minute in range(30):
        h.verify(code, "198.51.100.10")
        h.advance(60 if minute % 10 == 9 else 1)
    assert not [counts for counts in h.hits.counts.values() if counts.get("misses")]


def test_verification_counts_apart_from_the_lookup(h, invoices):
    code = h.view(paid_by_card(h, invoices)).receipt_code
    before = set(h.hits.counts)
    h.verify(code)
    assert [counter.split("#")[0] for counter in set(h.hits.counts) - before] == ["receipt"]


# -- the receipt's PDF: paid payments only ------------------------------------------------------------------------


def documents(h: Harness) -> ReceiptDocuments:
    return ReceiptDocuments(h.payments, "https://www.example.ma/e-paiement/")


def test_a_paid_payment_s_receipt_is_a_pdf_named_for_its_code_in_the_language_asked(h, invoices):
    payment_id = paid_by_card(h, invoices)
    code = h.view(payment_id).receipt_code
    for lang, name in (("fr", "recu"), ("ar", "wasl"), ("en", "receipt")):
        document = documents(h).pdf(payment_id, lang)
        assert document.content.startswith(b"%PDF-")
        assert document.filename == f"{name}-portnet-{code}.pdf"


@pytest.mark.parametrize("status", ["PENDING", "CANCELLED", "NEEDS_REVIEW", "REVERSED"])
def test_a_payment_that_is_not_paid_has_no_receipt_to_download(h, invoices, status):
    payment_id = paid_by_card(h, invoices)
    h.payments.payments[payment_id] = replace(h.payment(payment_id), status=PaymentStatus(status))
    error = refusal(documents(h).pdf, payment_id, "fr")
    assert (error.status, error.code) == (409, "RECEIPT_NOT_AVAILABLE")


@pytest.mark.parametrize("payment_id", [UNKNOWN_PAYMENT, "../etc", "x" * 65])
def test_an_unknown_payment_s_receipt_is_payment_not_found(h, payment_id):
    error = refusal(documents(h).pdf, payment_id, "fr")
    assert (error.status, error.code) == (404, "PAYMENT_NOT_FOUND")
