"""The payment state machine is data: one table, every move through it, and the docs show the same table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from epay.invoices import Issuer
from epay.money import Money
from epay.payments import (
    LIVE,
    TRANSITION_ROWS,
    TRANSITIONS,
    IllegalTransition,
    Payer,
    Payment,
    PaymentEvent,
    PaymentLine,
    PaymentStatus,
    allows,
)

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
ROW = re.compile(r"^\| `([A-Z_]+)` \| `([A-Z_]+)` \| `([A-Z_]+)` \|$")


def a_payment(status: PaymentStatus = PaymentStatus.PENDING, expires_at: int = 2_000) -> Payment:
    return Payment(
        payment_id="PAY-T",
        subscription_code="AB12",
        issuer=Issuer("ANP", "Agence Nationale des Ports"),
        gateway="CMI",
        method="CARD",
        lines=(PaymentLine("inv-1", "F-1", Money(1000)),),
        amount=Money(1000),
        payer=Payer("Société", "a@example.ma"),
        lang="fr",
        status=status,
        created_at=1_000,
        expires_at=expires_at,
    )


def documented_rows() -> set[tuple[str, str, str]]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("### The transition table", 1)[1].split("\n## ", 1)[0]
    return {match.groups() for line in section.splitlines() if (match := ROW.match(line.strip()))}


def test_the_documented_table_is_the_code_table():
    code = {(source.value, event.value, target.value) for source, event, target in TRANSITION_ROWS}
    assert documented_rows() == code


def test_the_table_has_one_target_per_state_and_event():
    assert len(TRANSITIONS) == len(TRANSITION_ROWS)


@pytest.mark.parametrize("final", [PaymentStatus.PAID, PaymentStatus.REVERSED])
def test_paid_and_reversed_have_no_move_out(final):
    assert not [event for event in PaymentEvent if allows(final, event)]


def test_a_payment_under_review_moves_only_when_its_money_is_returned():
    assert [event for event in PaymentEvent if allows(PaymentStatus.NEEDS_REVIEW, event)] == [
        PaymentEvent.MONEY_RETURNED
    ]
    assert TRANSITIONS[(PaymentStatus.NEEDS_REVIEW, PaymentEvent.MONEY_RETURNED)] is PaymentStatus.REVERSED


def test_every_status_is_reachable_from_creation():
    reached = {PaymentStatus.PENDING, PaymentStatus.AWAITING_SETTLEMENT}
    while True:
        more = {target for (source, _), target in TRANSITIONS.items() if source in reached} - reached
        if not more:
            break
        reached |= more
    assert reached == set(PaymentStatus)


def test_advancing_moves_by_the_table_and_makes_a_new_version():
    paid = a_payment().advance(PaymentEvent.SETTLED, paid_at=1_500)
    assert (paid.status, paid.version, paid.paid_at) == (PaymentStatus.PAID, 2, 1_500)


def test_an_illegal_move_raises():
    paid = a_payment(PaymentStatus.PAID)
    with pytest.raises(IllegalTransition):
        paid.advance(PaymentEvent.GATEWAY_FAILED)


def test_a_declined_attempt_is_only_possible_while_pending():
    assert allows(PaymentStatus.PENDING, PaymentEvent.ATTEMPT_DECLINED)
    assert not allows(PaymentStatus.AWAITING_SETTLEMENT, PaymentEvent.ATTEMPT_DECLINED)


def test_status_and_version_cannot_be_set_around_the_table():
    with pytest.raises(ValueError, match="transition table"):
        a_payment().advance(PaymentEvent.SETTLED, status=PaymentStatus.PAID)


@pytest.mark.parametrize("status", sorted(LIVE))
def test_a_live_payment_reads_as_expired_from_its_expiry_on(status):
    payment = a_payment(status, expires_at=2_000)
    assert payment.status_at(1_999) is status
    assert payment.status_at(2_000) is PaymentStatus.EXPIRED


@pytest.mark.parametrize("status", [PaymentStatus.PAID, PaymentStatus.CANCELLED, PaymentStatus.NEEDS_REVIEW])
def test_an_ended_payment_never_reads_as_expired(status):
    assert a_payment(status, expires_at=2_000).status_at(9_999) is status
