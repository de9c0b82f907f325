"""A status answer's notice applied by the callback engine is the same report as the callback of that transaction.

The recovery pass applies `CmiOrderStatus.as_notice()` and `M2tStatus.as_notice()` through the engine
(`CallbackService.apply_status`): whichever of the callback and the status answer comes first, the second changes
nothing, and the same status applied twice changes nothing (a status answer carries no event id: duplicates are
recognised by the payment's state and `settled_by`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from epay.gateways.cmi_api import CmiOrderStatus, TransStat
from epay.gateways.m2t_api import M2tOrderStatus, M2tStatus
from epay.gateways.protocol import Confirmation, Holding, Notice, OrderStatus, Outcome
from epay.money import Money
from epay.payments import PaymentStatus
from tests.support.engine import CODE, Harness
from tests.support.factories import an_invoice
from tests.support.merchant_apis import FakeCmi, FakeM2t

TRANS_ID = "26015K1Q0001"


def apply(h: Harness, notice: Notice | None, confirmation: Confirmation | None) -> Outcome:
    """What recovery does with a status answer: `CallbackService.apply_status`, as for the gateway's API."""
    assert notice is not None
    assert confirmation is not None
    api = FakeCmi() if notice.gateway == "CMI" else FakeM2t()
    status = OrderStatus(notice.gateway, notice.payment_id or "", "test", Holding.NOTHING, notice, confirmation)
    return h.callbacks.apply_status(status, api, h.now_ms)


def cmi_status(created, stat: str, *, trans_id: str = TRANS_ID) -> CmiOrderStatus:
    amount = Money.parse(created.amount)
    taken = stat in ("C", "S")
    return CmiOrderStatus(created.payment_id, TransStat(stat), trans_id, amount, amount if taken else None, "", "")


@pytest.fixture
def invoices(h):
    return h.given(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="20.50"))


# -- CMI -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def card(h, invoices):
    return h.start(invoices, "CMI", "CARD")


@pytest.mark.parametrize("stat", ["A", "C"])
def test_cmi_callback_then_status_of_the_same_transaction_is_a_duplicate(h, card, stat):
    assert h.cmi_success(card, trans_id=TRANS_ID) == (200, "ACTION=POSTAUTH")
    before = h.stored()
    status = cmi_status(card, stat)

    assert apply(h, status.as_notice(), status.confirmation) is Outcome.DUPLICATE
    assert h.stored() == before


def test_cmi_status_then_callback_of_the_same_transaction_is_a_duplicate_and_captured(h, card):
    status = cmi_status(card, "A")
    assert apply(h, status.as_notice(), status.confirmation) is Outcome.SETTLED
    paid = h.payment(card.payment_id)
    assert (paid.status, paid.gateway_transaction_id) == (PaymentStatus.PAID, TRANS_ID)
    before = h.stored()

    assert h.cmi_success(card, trans_id=TRANS_ID) == (200, "ACTION=POSTAUTH")
    assert h.stored() == before


def test_the_same_cmi_status_applied_twice_changes_nothing_the_second_time(h, card):
    status = cmi_status(card, "A")
    assert apply(h, status.as_notice(), status.confirmation) is Outcome.SETTLED
    before = h.stored()

    assert apply(h, status.as_notice(), status.confirmation) is Outcome.DUPLICATE
    assert h.stored() == before


def test_a_cmi_status_of_another_transaction_is_not_taken_for_the_same_report(h, card):
    h.cmi_success(card, trans_id=TRANS_ID)
    other = cmi_status(card, "C", trans_id="26015K1Q9999")

    assert apply(h, other.as_notice(), other.confirmation) is Outcome.ALREADY_SETTLED
    assert [funds.transaction_id for funds in h.unapplied(card.payment_id)] == ["26015K1Q9999"]


def test_a_cmi_authorisation_for_another_amount_is_flagged_never_settled(h, card):
    status = dataclasses.replace(cmi_status(card, "A"), amount=Money.parse("1.00"))

    assert apply(h, status.as_notice(), status.confirmation) is Outcome.MISMATCH
    assert h.payment(card.payment_id).status is PaymentStatus.NEEDS_REVIEW


@pytest.mark.parametrize("stat", ["V", "CNCL", "D", "ERR"])
def test_a_cmi_state_without_money_is_a_decline_the_payment_waits_for_its_expiry(h, card, stat):
    status = cmi_status(card, stat, trans_id="")
    notice = status.as_notice()

    assert apply(h, notice, Confirmation.AUTHORISED) is Outcome.DECLINED
    stored = h.payment(card.payment_id)
    assert (stored.status, stored.last_error) == (PaymentStatus.PENDING, notice.error)


# -- M2T -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def m2t_card(h, invoices):
    return h.start(invoices, "M2T", "CARD")


def m2t_status(created, status: str, **changes: Any) -> M2tStatus:
    values: dict[str, Any] = {
        "order_ref": created.payment_id,
        "status": M2tOrderStatus(status),
        "transaction_id": "M2T-TX-1",
        "amount": Money.parse(created.amount),
        "currency": "MAD",
        "method": "CARD",
        "reference": None,
        "occurred_at": None,
    }
    return M2tStatus(**{**values, **changes})


def test_m2t_notification_then_status_of_the_same_transaction_is_a_duplicate(h, m2t_card):
    assert h.m2t(m2t_card, "PAID", transaction_id="M2T-TX-1") == (200, {"status": "OK"})
    before = h.stored()

    assert apply(h, m2t_status(m2t_card, "PAID").as_notice(), Confirmation.TAKEN) is Outcome.DUPLICATE
    assert h.stored() == before


def test_m2t_status_then_notification_of_the_same_transaction_is_a_duplicate(h, m2t_card):
    assert apply(h, m2t_status(m2t_card, "PAID").as_notice(), Confirmation.TAKEN) is Outcome.SETTLED
    before = h.stored()

    assert h.m2t(m2t_card, "PAID", transaction_id="M2T-TX-1") == (200, {"status": "OK"})
    assert h.stored() == before


@pytest.mark.parametrize(
    ("status", "first", "ends_as"),
    [
        ("PAID", Outcome.SETTLED, PaymentStatus.PAID),
        ("FAILED", Outcome.ENDED, PaymentStatus.FAILED),
        ("CANCELLED", Outcome.ENDED, PaymentStatus.CANCELLED),
        ("EXPIRED", Outcome.ENDED, PaymentStatus.EXPIRED),
    ],
)
def test_the_same_m2t_status_applied_twice_changes_nothing_the_second_time(h, m2t_card, status, first, ends_as):
    notice = m2t_status(m2t_card, status).as_notice()
    assert apply(h, notice, Confirmation.TAKEN) is first
    assert h.payment(m2t_card.payment_id).status is ends_as
    before = h.stored()

    assert apply(h, notice, Confirmation.TAKEN) in (Outcome.DUPLICATE, Outcome.RECORDED)
    assert h.stored() == before


def test_the_same_m2t_reference_applied_twice_changes_nothing_the_second_time(h, invoices):
    created = h.start(invoices, "M2T", "TASHILAT")
    notice = m2t_status(created, "REFERENCE_ISSUED", reference="TSH-1", transaction_id=None).as_notice()
    assert apply(h, notice, Confirmation.TAKEN) is Outcome.REFERENCE_ISSUED
    before = h.stored()

    assert apply(h, notice, Confirmation.TAKEN) is Outcome.DUPLICATE
    assert h.stored() == before
