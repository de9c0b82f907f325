"""Starting, reading and cancelling payments (api.md §2-§4) on the in-memory stores: `PaymentService` below HTTP.

The same specifications run through the HTTP handler on moto in tests/integration/test_payment_creation.py and
test_payment_status_and_cancel.py (which also cover what only HTTP has: validation problems, Idempotency-Key).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import get_args

import pytest

from epay.clock import iso_instant
from epay.errors import DomainError
from epay.gateways import cmi, fatourati, m2t
from epay.invoices import Hold, InvoiceStatus
from epay.payments import PaymentEvent, PaymentStatus, Reversal, ReversalAction, UnappliedReason
from epay.ports import ReferenceTaken
from epay.schemas import PaymentStatusText, PaymentView, ReversalOut
from tests.support.engine import (
    CMI_STORE_KEY,
    CODE,
    GATEWAY_SETTINGS,
    HOLD,
    M2T_SECRET,
    NOW,
    OTHER_CODE,
    PAYER,
    REFERENCE_HOLD,
    SETTINGS,
    UNKNOWN_PAYMENT,
    Harness,
    failing,
    reference_of,
)
from tests.support.factories import an_invoice


@pytest.fixture
def invoices(h):
    return h.given(an_invoice(CODE, amount="1250.50"), an_invoice(CODE, amount="1249.50"))


def refusal(call, *args, **kwargs) -> DomainError:
    """The domain error `call` refuses with."""
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def listed_ids(error: DomainError) -> set[str]:
    return {entry.message for entry in error.errors}


def assert_free(h, invoices):
    """No payment holds the invoices, and none is paid."""
    for invoice in invoices:
        stored = h.invoice(invoice.invoice_id)
        assert (stored.status, stored.hold) == (InvoiceStatus.UNPAID, None)


# -- creation: every invoice held, atomically -------------------------------------------------------------------


def test_a_payment_holds_every_invoice_until_it_expires(h, invoices):
    created = h.start(invoices, "CMI", "CARD")
    assert (created.status, created.created_at, created.expires_at) == (
        "PENDING",
        iso_instant(NOW),
        iso_instant(NOW + HOLD),
    )
    for invoice in invoices:
        assert h.invoice(invoice.invoice_id).hold == Hold(created.payment_id, NOW + HOLD)
    assert h.payment(created.payment_id).status is PaymentStatus.PENDING


@pytest.mark.parametrize("hold_seconds", [60, 900, HOLD, 86_400])
def test_cmis_hosted_session_never_outlives_the_hold(hold_seconds):
    h = Harness(settings=SETTINGS.model_copy(update={"hold_seconds": hold_seconds}))
    invoices = h.given(an_invoice(CODE))
    created = h.start(invoices, "CMI", "CARD")
    assert created.redirect is not None
    fields = created.redirect.fields
    left_on_hold = h.payment(created.payment_id).expires_at - NOW

    assert int(fields["sessionTimeout"]) <= left_on_hold
    assert int(fields["sessionTimeout"]) == hold_seconds
    assert cmi.verify(fields, CMI_STORE_KEY)


# -- at most EPAY_LIVE_PAYMENTS_PER_CODE live payments per code (api.md §8) ----------------------------------------


def test_a_fourth_live_payment_of_a_code_is_refused_with_429(h):
    invoices = h.given(*(an_invoice(CODE) for _ in range(4)))
    for invoice in invoices[:3]:
        h.start([invoice])
    error = refusal(h.start, [invoices[3]])
    assert (error.code, error.status) == ("TOO_MANY_LIVE_PAYMENTS", 429)
    assert h.invoice(invoices[3].invoice_id).hold is None


@pytest.mark.parametrize(("gateway", "method"), [("CMI", "FATOURATI"), ("M2T", "TASHILAT"), ("M2T", "DIRECT_DEBIT")])
def test_every_method_counts_towards_the_limit(h, gateway, method):
    invoices = h.given(*(an_invoice(CODE) for _ in range(4)))
    for invoice in invoices[:3]:
        h.start([invoice], gateway, method)
    assert refusal(h.start, [invoices[3]]).code == "TOO_MANY_LIVE_PAYMENTS"


def test_cancelling_a_live_payment_makes_room_for_another(h):
    invoices = h.given(*(an_invoice(CODE) for _ in range(4)))
    first, *_ = [h.start([invoice]) for invoice in invoices[:3]]
    h.service.cancel(first.payment_id, h.now)
    assert h.start([invoices[3]]).status == "PENDING"


def test_a_lapsed_hold_makes_room_without_anything_recording_it(h):
    invoices = h.given(*(an_invoice(CODE) for _ in range(4)))
    for invoice in invoices[:3]:
        h.start([invoice])
    h.advance(HOLD)
    assert h.start([invoices[3]]).status == "PENDING"


def test_the_limit_is_the_configured_one():
    h = Harness(settings=SETTINGS.model_copy(update={"live_payments_per_code": 1}))
    first, second = h.given(an_invoice(CODE), an_invoice(CODE))
    h.start([first])
    assert refusal(h.start, [second]).code == "TOO_MANY_LIVE_PAYMENTS"


def test_another_codes_live_payments_do_not_count(h):
    invoices = h.given(*(an_invoice(CODE) for _ in range(3)))
    for invoice in invoices:
        h.start([invoice])
    (theirs,) = h.given(an_invoice(OTHER_CODE))
    assert h.start([theirs], subscription_code=OTHER_CODE).status == "PENDING"


def test_the_hold_lasts_the_configured_hold_seconds():
    h = Harness(settings=SETTINGS.model_copy(update={"hold_seconds": 900}))
    (invoice,) = h.given(an_invoice(CODE))
    created = h.start([invoice], "M2T", "CARD")
    assert created.expires_at == iso_instant(NOW + 900)
    assert h.invoice(invoice.invoice_id).hold == Hold(created.payment_id, NOW + 900)


def test_an_unselected_invoice_of_the_same_code_is_not_held(h):
    chosen, other = h.given(an_invoice(CODE), an_invoice(CODE))
    h.start([chosen])
    assert h.invoice(other.invoice_id).hold is None


def test_a_refused_creation_holds_no_invoice_and_stores_no_payment(h):
    # Given one of three invoices is held by a live payment
    free_a, free_b, held = h.given(an_invoice(CODE), an_invoice(CODE), an_invoice(CODE))
    first = h.start([held])
    # When a payment of all three is asked for
    refusal(h.start, [free_a, free_b, held])
    # Then it is refused as a whole: the free invoices stay free, the held one stays with its payment
    assert_free(h, [free_a, free_b])
    assert h.holder(held.invoice_id) == first.payment_id
    assert list(h.payments.payments) == [first.payment_id]


def test_an_invoice_taken_between_the_checks_and_the_hold_refuses_the_whole_payment(h, monkeypatch):
    # Given another payment takes one invoice just after this request read them all as payable
    free, contested = h.given(an_invoice(CODE), an_invoice(CODE))
    read_invoices = h.invoices.get_invoices

    def read_then_lose_the_race(invoice_ids):
        found = read_invoices(invoice_ids)
        taken = replace(h.invoices.items[contested.invoice_id], hold=Hold("PAY-OTHER", NOW + HOLD))
        h.invoices.items[contested.invoice_id] = taken
        return found

    monkeypatch.setattr(h.invoices, "get_invoices", read_then_lose_the_race)
    # When
    error = refusal(h.start, [free, contested])
    # Then nothing is held for this request, and the error names the invoice it lost
    assert (error.status, error.code) == (409, "INVOICE_NOT_PAYABLE")
    assert listed_ids(error) == {contested.invoice_id}
    assert h.invoice(free.invoice_id).hold is None
    assert h.holder(contested.invoice_id) == "PAY-OTHER"
    assert h.payments.payments == {}


def test_an_invoice_whose_previous_hold_lapsed_is_payable_again(h, invoices):
    first = h.start(invoices, "CMI", "CARD")
    h.advance(HOLD)
    second = h.start(invoices, "M2T", "CARD")
    assert [h.holder(invoice.invoice_id) for invoice in invoices] == [second.payment_id] * 2
    assert h.view(first.payment_id).status == "EXPIRED"


# -- creation: the amount ---------------------------------------------------------------------------------------


def test_the_amount_is_the_exact_sum_of_the_invoices(h):
    invoices = h.given(*(an_invoice(CODE, amount=amount) for amount in ("0.10", "0.20", "0.05", "999999.99")))
    created = h.start(invoices)
    assert (created.amount, created.currency) == ("1000000.34", "MAD")
    assert str(h.payment(created.payment_id).amount) == "1000000.34"


def test_the_payment_lists_its_invoices_as_they_were_when_it_was_created(h, invoices):
    created = h.start(invoices)
    payment = h.payment(created.payment_id)
    assert [(line.invoice_id, line.invoice_number, str(line.amount)) for line in payment.lines] == [
        (invoice.invoice_id, invoice.invoice_number, str(invoice.amount)) for invoice in invoices
    ]
    assert created.invoice_ids == [invoice.invoice_id for invoice in invoices]
    assert (created.issuer.code, created.issuer.name) == ("ANP", "Agence Nationale des Ports")


# -- creation: where the payer goes -----------------------------------------------------------------------------


def test_a_cmi_card_payment_sends_the_payer_to_cmi_with_a_signed_form(h, invoices):
    created = h.start(invoices, "CMI", "CARD")
    assert created.reference is None
    assert (created.redirect.method, created.redirect.url) == ("POST", GATEWAY_SETTINGS.cmi_gateway_url)
    fields = created.redirect.fields
    assert cmi.verify(fields, CMI_STORE_KEY)
    assert (fields["oid"], fields["amount"], fields["currency"]) == (created.payment_id, "2500.00", "504")
    assert fields["callbackUrl"] == "https://api.example.ma/v1/callbacks/cmi"


@pytest.mark.parametrize("method", ["CARD", "TASHILAT", "DIRECT_DEBIT"])
def test_an_m2t_payment_sends_the_payer_to_m2t_with_a_signed_form(h, invoices, method):
    created = h.start(invoices, "M2T", method)
    assert (created.status, created.reference) == ("PENDING", None)
    assert (created.redirect.method, created.redirect.url) == ("POST", GATEWAY_SETTINGS.m2t_gateway_url)
    fields = created.redirect.fields
    assert m2t.verify_fields(fields, M2T_SECRET)
    assert (fields["order_ref"], fields["method"], fields["amount"]) == (created.payment_id, method, "2500.00")


def test_a_lower_case_subscription_code_is_the_same_code(h, invoices):
    created = h.start(invoices, code=CODE.lower())
    assert created.invoice_ids == [invoice.invoice_id for invoice in invoices]


# -- creation: Fatourati issues a reference ---------------------------------------------------------------------


def test_a_fatourati_payment_issues_a_12_digit_reference_and_awaits_settlement(h, invoices):
    created = h.start(invoices, "CMI", "FATOURATI")
    assert (created.status, created.redirect) == ("AWAITING_SETTLEMENT", None)
    code = reference_of(created)
    assert re.fullmatch(r"[0-9]{12}", code)
    assert fatourati.is_valid_reference(code)
    assert created.reference.channels == ["E-BANKING", "M-BANKING"]
    assert created.reference.expires_at == created.expires_at == iso_instant(NOW + REFERENCE_HOLD)


def test_a_fatourati_reference_holds_the_invoices_until_it_expires_and_finds_its_payment(h, invoices):
    created = h.start(invoices, "CMI", "FATOURATI")
    for invoice in invoices:
        assert h.invoice(invoice.invoice_id).hold == Hold(created.payment_id, NOW + REFERENCE_HOLD)
    assert h.payments.payment_id_for_reference(reference_of(created)) == created.payment_id


def test_a_reference_already_issued_is_drawn_again(h, invoices, monkeypatch):
    # Given the first reference drawn is already another payment's
    create_payment = h.payments.create_payment
    drawn: list[str] = []

    def taken_once(payment, now, live_limit=None, superseded=()):
        drawn.append(payment.reference.code)
        if len(drawn) == 1:
            raise ReferenceTaken(payment.reference.code)
        create_payment(payment, now, live_limit, superseded)

    monkeypatch.setattr(h.payments, "create_payment", taken_once)
    # When
    created = h.start(invoices, "CMI", "FATOURATI")
    # Then the payment is created with the second draw
    assert len(drawn) == 2
    assert reference_of(created) == drawn[1]
    assert fatourati.is_valid_reference(drawn[1])


def test_references_that_are_always_taken_end_in_service_unavailable(h, invoices, monkeypatch):
    monkeypatch.setattr(h.payments, "create_payment", failing(ReferenceTaken("taken")))
    error = refusal(h.start, invoices, "CMI", "FATOURATI")
    assert (error.status, error.code) == (503, "SERVICE_UNAVAILABLE")
    assert_free(h, invoices)


# -- creation: refusals -----------------------------------------------------------------------------------------


def test_an_unknown_invoice_and_another_codes_invoice_are_refused_identically(h):
    mine, theirs = h.given(an_invoice(CODE), an_invoice(OTHER_CODE))
    unknown = refusal(h.start, [mine.invoice_id, "inv-doesnotexist"])
    foreign = refusal(h.start, [mine.invoice_id, theirs.invoice_id])
    assert (unknown.status, unknown.code) == (404, "INVOICE_NOT_FOUND")
    assert foreign == unknown
    assert_free(h, [mine, theirs])


def test_invoices_of_two_issuers_cannot_be_paid_together(h):
    anp, marsa = h.given(an_invoice(CODE, issuer="ANP"), an_invoice(CODE, issuer="MARSA"))
    error = refusal(h.start, [anp, marsa])
    assert (error.status, error.code) == (422, "MIXED_ISSUERS")
    assert_free(h, [anp, marsa])


def test_a_paid_invoice_is_not_payable_and_is_named(h):
    unpaid, paid = h.given(an_invoice(CODE), an_invoice(CODE, status=InvoiceStatus.PAID))
    error = refusal(h.start, [unpaid, paid])
    assert (error.status, error.code) == (409, "INVOICE_NOT_PAYABLE")
    assert listed_ids(error) == {paid.invoice_id}
    assert h.invoice(unpaid.invoice_id).hold is None


def test_an_invoice_held_by_a_live_payment_is_not_payable_and_is_named(h):
    held, free = h.given(an_invoice(CODE), an_invoice(CODE))
    first = h.start([held])
    error = refusal(h.start, [free, held], "M2T", "CARD")
    assert (error.status, error.code) == (409, "INVOICE_NOT_PAYABLE")
    assert listed_ids(error) == {held.invoice_id}
    assert h.holder(held.invoice_id) == first.payment_id
    assert h.invoice(free.invoice_id).hold is None


@pytest.mark.parametrize(("gateway", "method"), [("CMI", "TASHILAT"), ("CMI", "DIRECT_DEBIT"), ("M2T", "FATOURATI")])
def test_a_method_the_gateway_does_not_offer_is_unsupported(h, invoices, gateway, method):
    error = refusal(h.start, invoices, gateway, method)
    assert (error.status, error.code) == (400, "UNSUPPORTED_METHOD")
    assert_free(h, invoices)


def test_too_many_payments_from_one_address_are_refused_with_retry_after():
    # Given a limit of 2 payments a minute per address
    h = Harness(settings=SETTINGS.model_copy(update={"payment_limit_per_minute": 2}))
    invoices = h.given(*(an_invoice(CODE) for _ in range(4)))
    h.start([invoices[0]], client_address="198.51.100.7")
    h.start([invoices[1]], client_address="198.51.100.7")
    # When the same address asks for a third
    error = refusal(h.start, [invoices[2]], client_address="198.51.100.7")
    # Then it is refused, holds nothing, and another address is still served
    assert (error.status, error.code) == (429, "RATE_LIMITED")
    assert 1 <= int(error.headers["Retry-After"]) <= 60
    assert h.invoice(invoices[2].invoice_id).hold is None
    assert h.start([invoices[3]], client_address="198.51.100.8").status == "PENDING"


def test_past_the_miss_budget_every_payment_request_from_the_address_is_refused():
    # Given a budget of 2 requests an hour naming invoices that are unknown or of another code
    h = Harness(settings=SETTINGS.model_copy(update={"payment_misses_per_hour": 2}))
    (mine,) = h.given(an_invoice(CODE))
    for _ in range(2):
        assert refusal(h.start, ["inv-doesnotexist"], client_address="198.51.100.9").code == "INVOICE_NOT_FOUND"
    # When the address then names a payable invoice of its own code
    error = refusal(h.start, [mine], client_address="198.51.100.9")
    # Then it is refused for the rest of the hour, holding nothing; another address is still served
    assert (error.status, error.code) == (429, "RATE_LIMITED")
    assert h.invoice(mine.invoice_id).hold is None
    assert h.start([mine], client_address="198.51.100.10").status == "PENDING"


# -- view -------------------------------------------------------------------------------------------------------


def test_a_new_payment_reads_as_it_was_created(h, invoices):
    created = h.start(invoices, "CMI", "CARD")
    view = h.view(created.payment_id)
    assert (view.payment_id, view.status, view.amount, view.currency) == (
        created.payment_id,
        "PENDING",
        "2500.00",
        "MAD",
    )
    assert (view.gateway, view.method, view.issuer) == ("CMI", "CARD", created.issuer)
    assert [(line.invoice_id, line.amount) for line in view.invoices] == [
        (invoice.invoice_id, str(invoice.amount)) for invoice in invoices
    ]
    assert (view.created_at, view.expires_at) == (created.created_at, created.expires_at)
    assert (view.paid_at, view.gateway_transaction_id, view.reference, view.last_error) == (None, None, None, None)
    assert view.unapplied_funds == []


def test_the_view_never_carries_the_subscription_code_or_the_payer(h, invoices):
    text = h.view(h.start(invoices).payment_id).model_dump_json()
    assert CODE not in text
    assert PAYER["email"] not in text


def test_a_fatourati_payment_reads_with_its_reference(h, invoices):
    created = h.start(invoices, "CMI", "FATOURATI")
    assert h.view(created.payment_id).reference == created.reference


def test_a_paid_payment_reads_with_when_and_by_which_transaction(h, invoices):
    created = h.start(invoices, "M2T", "CARD")
    h.advance(90)
    h.m2t(created, "PAID", transaction_id="M2T-TX-9")
    view = h.view(created.payment_id)
    assert (view.status, view.paid_at, view.gateway_transaction_id) == ("PAID", iso_instant(NOW + 90), "M2T-TX-9")


def test_a_live_payment_past_its_expiry_reads_expired(h, invoices):
    created = h.start(invoices)
    h.advance(HOLD - 1)
    assert h.view(created.payment_id).status == "PENDING"
    h.advance(1)
    assert h.view(created.payment_id).status == "EXPIRED"


def test_a_payment_reads_with_the_money_to_return(h, invoices):
    created = h.start(invoices, "M2T", "CARD")
    h.m2t(created, "PAID", amount="1.00", transaction_id="TX-OFF")
    (funds,) = h.view(created.payment_id).unapplied_funds
    assert (funds.gateway, funds.transaction_id, funds.amount, funds.currency, funds.reason) == (
        "M2T",
        "TX-OFF",
        "1.00",
        "MAD",
        UnappliedReason.AMOUNT_MISMATCH.value,
    )
    assert funds.reported_at == iso_instant(NOW)


def paid_elsewhere_then_returned(h, late, invoices, action: ReversalAction) -> None:
    """The M2T card payment `late` left by the payer, its invoices paid by another payment, its late success flagged,
    then its money returned as recovery records it (epay.recovery): `REVERSED`."""
    h.cancel(late.payment_id)
    h.m2t(h.start(invoices, "M2T", "DIRECT_DEBIT"), "PAID")
    h.m2t(late, "PAID", transaction_id="M2T-LATE")
    flagged = h.payment(late.payment_id)
    assert (flagged.status, flagged.review_reason) == (PaymentStatus.NEEDS_REVIEW, "INVOICES_PAID_ELSEWHERE")
    returned = Reversal(action, h.now + 60, "INVOICES_PAID_ELSEWHERE")
    h.payments.transition(flagged, flagged.advance(PaymentEvent.MONEY_RETURNED, reversal=returned), None)


@pytest.mark.parametrize("action", list(ReversalAction))
def test_a_reversed_payment_reads_reversed_with_how_and_when_its_money_was_returned(h, invoices, action):
    late = h.start(invoices, "M2T", "CARD")
    paid_elsewhere_then_returned(h, late, invoices, action)
    view = h.view(late.payment_id)
    assert view.status == "REVERSED"
    assert view.reversal == ReversalOut(action=action.value, at=iso_instant(NOW + 60), reason="INVOICES_PAID_ELSEWHERE")
    assert (view.paid_at, view.gateway_transaction_id) == (None, "M2T-LATE")


def test_a_payment_that_was_not_reversed_reads_with_no_reversal(h, invoices):
    created = h.start(invoices, "M2T", "CARD")
    assert h.view(created.payment_id).reversal is None
    h.m2t(created, "PAID")
    assert h.view(created.payment_id).reversal is None


def test_the_view_can_say_every_status_and_every_way_money_is_returned():
    assert set(get_args(PaymentStatusText)) == {status.value for status in PaymentStatus}
    assert set(get_args(ReversalOut.model_fields["action"].annotation)) == {action.value for action in ReversalAction}
    assert PaymentView.model_fields["reversal"].is_required(), "always sent, null when none (as paid_at)"


def test_an_unknown_payment_is_not_found(h):
    error = refusal(h.view, UNKNOWN_PAYMENT)
    assert (error.status, error.code) == (404, "PAYMENT_NOT_FOUND")


@pytest.mark.parametrize("malformed", ["", "PAY/../x", "PAY 1", "P" * 65])
def test_a_malformed_payment_id_is_not_found_without_a_read(h, monkeypatch, malformed):
    monkeypatch.setattr(h.payments, "get_payment", failing(AssertionError("read")))
    assert refusal(h.view, malformed).code == "PAYMENT_NOT_FOUND"
    assert refusal(h.cancel, malformed).code == "PAYMENT_NOT_FOUND"


# -- cancel -----------------------------------------------------------------------------------------------------


def test_cancelling_a_pending_payment_ends_it_and_releases_its_holds(h, invoices):
    created = h.start(invoices)
    view = h.cancel(created.payment_id)
    assert (view.payment_id, view.status) == (created.payment_id, "CANCELLED")
    assert h.payment(created.payment_id).status is PaymentStatus.CANCELLED
    assert_free(h, invoices)


def test_cancelled_invoices_can_be_paid_by_a_new_payment(h, invoices):
    h.cancel(h.start(invoices).payment_id)
    assert h.start(invoices, "M2T", "CARD").status == "PENDING"


def test_cancelling_a_reference_payment_releases_its_reference_holds(h, invoices):
    created = h.start(invoices, "CMI", "FATOURATI")
    assert h.cancel(created.payment_id).status == "CANCELLED"
    assert_free(h, invoices)


@pytest.mark.parametrize(
    ("ended_by", "status"),
    [
        ("cancel", "CANCELLED"),
        ("paid", "PAID"),
        ("review", "NEEDS_REVIEW"),
        ("reversed", "REVERSED"),
        ("failed", "FAILED"),
        ("expiry", "EXPIRED"),
    ],
)
def test_a_payment_that_is_no_longer_live_cannot_be_cancelled_and_is_unchanged(h, invoices, ended_by, status):
    # Given a payment that was cancelled, paid, flagged for review, failed, or that expired
    created = h.start(invoices, "M2T", "CARD")
    if ended_by == "cancel":
        h.cancel(created.payment_id)
    elif ended_by == "paid":
        h.m2t(created, "PAID")
    elif ended_by == "review":
        h.cancel(created.payment_id)
        h.m2t(h.start(invoices, "M2T", "DIRECT_DEBIT"), "PAID")
        h.m2t(created, "PAID")
    elif ended_by == "reversed":
        paid_elsewhere_then_returned(h, created, invoices, ReversalAction.REFUND)
    elif ended_by == "failed":
        h.m2t(created, "FAILED")
    else:
        h.advance(HOLD)
    assert h.view(created.payment_id).status == status
    before = h.stored()
    # When the payer asks to cancel it
    error = refusal(h.cancel, created.payment_id)
    # Then it is refused and nothing changes
    assert (error.status, error.code) == (409, "PAYMENT_NOT_CANCELLABLE")
    assert h.stored() == before


def test_cancelling_an_unknown_payment_is_not_found(h):
    assert refusal(h.cancel, UNKNOWN_PAYMENT).code == "PAYMENT_NOT_FOUND"


def test_a_payment_settled_while_the_payer_cancels_stays_paid(h, invoices, monkeypatch):
    # Given CMI's success commits between the cancel's read of the payment and its write
    created = h.start(invoices, "CMI", "CARD")
    transition = h.payments.transition
    pending = [lambda: h.cmi_success(created)]

    def settled_meanwhile(payment, *args, **kwargs):
        if pending:
            pending.pop()()
        return transition(payment, *args, **kwargs)

    monkeypatch.setattr(h.payments, "transition", settled_meanwhile)
    # When the cancel is written, finds the payment moved, and reads it again
    error = refusal(h.cancel, created.payment_id)
    # Then the cancel is refused and the payment stays paid
    assert error.code == "PAYMENT_NOT_CANCELLABLE"
    assert h.payment(created.payment_id).status is PaymentStatus.PAID
    for invoice in invoices:
        assert h.invoice(invoice.invoice_id).paid_by == created.payment_id
