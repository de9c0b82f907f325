"""References are soft holds (api.md §8), on the in-memory stores: a card or direct-debit payment takes over invoices
held only by unpaid references; each such reference payment ends `CANCELLED` (`last_error` SUPERSEDED) in the same
change and frees its other invoices; its Fatourati inquiry answers `410`; a TASHILAT payment M2T settles anyway ends
`NEEDS_REVIEW` and recovery refunds it. Card and direct-debit holds stay exclusive.

tests/integration/test_reference_takeover.py runs the same rules on moto."""

from __future__ import annotations

import pytest

from epay.errors import DomainError
from epay.money import Money
from epay.payments import PaymentStatus
from tests.support.engine import CODE, reference_of
from tests.support.factories import an_invoice
from tests.support.recovery import AFTER, Rig


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.fixture
def h(rig):
    return rig.h


def refusal(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def a_tashilat_reference(h, invoices, *, issued: bool = True):
    created = h.start(invoices, "M2T", "TASHILAT")
    if issued:
        assert h.m2t(created, "REFERENCE_ISSUED", reference="TSH-REF-0001", method="TASHILAT")[0] == 200
        assert h.payment(created.payment_id).status is PaymentStatus.AWAITING_SETTLEMENT
    return created


@pytest.mark.parametrize(("gateway", "method"), [("CMI", "CARD"), ("M2T", "CARD"), ("M2T", "DIRECT_DEBIT")])
def test_a_card_or_direct_debit_payment_takes_over_a_fatourati_reference(h, gateway, method):
    shared, other = h.given(an_invoice(CODE), an_invoice(CODE))
    reference = h.start([shared, other], "CMI", "FATOURATI")

    created = h.start([shared], gateway, method)

    assert created.status == "PENDING"
    assert h.holder(shared.invoice_id) == created.payment_id
    assert h.holder(other.invoice_id) is None
    old = h.payment(reference.payment_id)
    assert (old.status, old.last_error) == (PaymentStatus.CANCELLED, "SUPERSEDED")
    assert h.view(reference.payment_id).status == "CANCELLED"
    assert h.inquire(reference_of(reference))[0] == 410


@pytest.mark.parametrize("issued", [True, False], ids=["awaiting settlement", "pending"])
def test_a_card_payment_takes_over_a_tashilat_payment(h, issued):
    invoices = h.given(an_invoice(CODE), an_invoice(CODE))
    tashilat = a_tashilat_reference(h, invoices, issued=issued)

    created = h.start(invoices, "CMI", "CARD")

    assert all(h.holder(invoice.invoice_id) == created.payment_id for invoice in invoices)
    old = h.payment(tashilat.payment_id)
    assert (old.status, old.last_error) == (PaymentStatus.CANCELLED, "SUPERSEDED")


def test_several_references_are_superseded_at_once(h):
    first, second, third = h.given(an_invoice(CODE), an_invoice(CODE), an_invoice(CODE))
    fatourati = h.start([first, third], "CMI", "FATOURATI")
    tashilat = a_tashilat_reference(h, [second])

    created = h.start([first, second], "CMI", "CARD")

    assert {h.holder(first.invoice_id), h.holder(second.invoice_id)} == {created.payment_id}
    assert h.holder(third.invoice_id) is None
    assert {h.payment(p.payment_id).status for p in (fatourati, tashilat)} == {PaymentStatus.CANCELLED}


@pytest.mark.parametrize(
    ("gateway", "method"), [("CMI", "CARD"), ("M2T", "DIRECT_DEBIT")], ids=["card", "direct debit"]
)
def test_card_and_direct_debit_holds_stay_exclusive(h, gateway, method):
    (invoice,) = h.given(an_invoice(CODE))
    first = h.start([invoice], gateway, method)
    for later_gateway, later_method in [("CMI", "CARD"), ("M2T", "DIRECT_DEBIT"), ("CMI", "FATOURATI")]:
        assert refusal(h.start, [invoice], later_gateway, later_method).code == "INVOICE_NOT_PAYABLE"
    assert h.payment(first.payment_id).status is PaymentStatus.PENDING


@pytest.mark.parametrize(("gateway", "method"), [("CMI", "FATOURATI"), ("M2T", "TASHILAT")])
def test_a_reference_does_not_take_over_another_reference(h, gateway, method):
    (invoice,) = h.given(an_invoice(CODE))
    first = h.start([invoice], "CMI", "FATOURATI")
    assert refusal(h.start, [invoice], gateway, method).code == "INVOICE_NOT_PAYABLE"
    assert h.payment(first.payment_id).status is PaymentStatus.AWAITING_SETTLEMENT


def test_a_mix_of_a_reference_and_a_card_hold_is_refused_and_nothing_changes(h):
    by_reference, by_card = h.given(an_invoice(CODE), an_invoice(CODE))
    reference = h.start([by_reference], "CMI", "FATOURATI")
    h.start([by_card], "CMI", "CARD")
    error = refusal(h.start, [by_reference, by_card], "M2T", "CARD")
    assert error.code == "INVOICE_NOT_PAYABLE"
    assert [entry.message for entry in error.errors] == [by_card.invoice_id]
    assert h.payment(reference.payment_id).status is PaymentStatus.AWAITING_SETTLEMENT
    assert h.holder(by_reference.invoice_id) == reference.payment_id


def test_superseding_frees_the_references_live_payment_slots(h):
    invoices = h.given(*(an_invoice(CODE) for _ in range(3)))
    references = [h.start([invoice], "CMI", "FATOURATI") for invoice in invoices]
    created = h.start([invoices[0]], "CMI", "CARD")
    assert created.status == "PENDING"
    assert h.payment(references[0].payment_id).status is PaymentStatus.CANCELLED


def test_beyond_one_transaction_the_takeover_is_refused_clearly(h):
    # 50 invoices taken over from 2 references that each hold 25 more: 2 + 50 + 2 + 50 actions > 100
    chosen, others = [], []
    for _ in range(2):
        mine, theirs = h.given(*(an_invoice(CODE) for _ in range(25))), h.given(*(an_invoice(CODE) for _ in range(25)))
        h.start([*mine, *theirs], "CMI", "FATOURATI")
        chosen += mine
        others += theirs
    error = refusal(h.start, chosen, "CMI", "CARD")
    assert error.code == "INVOICE_NOT_PAYABLE"
    assert {entry.message for entry in error.errors} == {invoice.invoice_id for invoice in chosen}
    assert all(h.holder(invoice.invoice_id) is not None for invoice in chosen + others)
    # One reference fewer to release fits: 2 + 25 + 1 + 25
    assert h.start(chosen[:25], "CMI", "CARD").status == "PENDING"


def test_a_superseded_tashilat_payment_that_m2t_settles_anyway_is_reviewed_and_refunded(rig, h):
    invoices = h.given(an_invoice(CODE, amount="100.00"))
    tashilat = a_tashilat_reference(h, invoices)
    rig.m2t.set_state(tashilat.payment_id, "REFERENCE_ISSUED", tashilat.amount)
    card = h.start(invoices, "CMI", "CARD")
    assert h.cmi_success(card) == (200, "ACTION=POSTAUTH")

    rig.m2t.pay(tashilat.payment_id, tashilat.amount)  # paid at an agency all the same
    assert h.m2t(tashilat, "PAID", method="TASHILAT")[0] == 200

    old = h.payment(tashilat.payment_id)
    assert (old.status, old.review_reason) == (PaymentStatus.NEEDS_REVIEW, "INVOICES_PAID_ELSEWHERE")
    rig.later(AFTER)
    rig.until_quiet(passes=200)
    assert rig.payment(tashilat.payment_id).status is PaymentStatus.REVERSED
    assert rig.kept(tashilat.payment_id) == Money(0)
    assert h.invoice(invoices[0].invoice_id).paid_by == card.payment_id
