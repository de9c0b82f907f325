"""`epay schedule-recovery` (one-off): payments written before recovery existed get the check they owe, once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from epay import runtime
from epay.adapters.dynamodb.items import payment_item
from epay.invoices import Issuer
from epay.money import Money
from epay.payments import Capture, Payer, Payment, PaymentLine, PaymentStatus, Recovery
from epay_local.recovery_backfill import schedule_recovery

NOW = 1_795_774_500
HOUR = 3600


def legacy(n: int, status: PaymentStatus, gateway: str = "CMI", method: str = "CARD", **changes) -> Payment:
    """A payment as releases before recovery wrote it: no check, no capture state."""
    payment = Payment(
        payment_id=f"PAY-LEGACY-{n}",
        subscription_code="BF01",
        issuer=Issuer("ANP", "Agence Nationale des Ports"),
        gateway=gateway,
        method=method,
        lines=(PaymentLine(f"inv-legacy-{n}", f"F-{n}", Money(1000)),),
        amount=Money(1000),
        payer=Payer("Société Maritime", "compta@example.ma"),
        lang="fr",
        status=status,
        created_at=changes.pop("created_at", NOW - HOUR),
        expires_at=NOW - HOUR + 1800,
    )
    return replace(payment, **changes)


CASES = {
    "open card": (legacy(1, PaymentStatus.PENDING), True),
    "open TASHILAT": (legacy(2, PaymentStatus.AWAITING_SETTLEMENT, "M2T", "TASHILAT"), True),
    "Fatourati reference": (legacy(3, PaymentStatus.AWAITING_SETTLEMENT, "CMI", "FATOURATI"), False),
    "cancelled an hour ago": (legacy(4, PaymentStatus.CANCELLED), True),
    "cancelled two days ago": (legacy(5, PaymentStatus.CANCELLED, created_at=NOW - 48 * HOUR), False),
    "paid elsewhere": (legacy(6, PaymentStatus.NEEDS_REVIEW, review_reason="INVOICES_PAID_ELSEWHERE"), True),
    "amount mismatch": (legacy(7, PaymentStatus.NEEDS_REVIEW, review_reason="AMOUNT_MISMATCH"), False),
    "CMI paid yesterday": (legacy(8, PaymentStatus.PAID, paid_at=NOW - 24 * HOUR), True),
    "CMI paid last month": (legacy(9, PaymentStatus.PAID, paid_at=NOW - 30 * 24 * HOUR), False),
    "M2T paid": (legacy(10, PaymentStatus.PAID, "M2T", "CARD", paid_at=NOW - HOUR), False),
    "failed": (legacy(11, PaymentStatus.FAILED), False),
}


@pytest.fixture
def payments(dynamodb):
    store = runtime.payment_store()
    for payment, _ in CASES.values():
        # The payment item alone, as the store writes it (its invoices are irrelevant here).
        dynamodb.put_item(TableName=store.table, Item=payment_item(payment))
    return store


def test_each_payment_that_owes_a_check_gets_one_due_now_and_nothing_else_changes(payments):
    report = schedule_recovery(payments, NOW)

    for name, (written, owes) in CASES.items():
        stored = payments.get_payment(written.payment_id)
        assert (stored.recovery.due == NOW) is owes, name
        assert stored.status is written.status, name
    assert payments.get_payment("PAY-LEGACY-8").capture is Capture.DUE
    assert report.scheduled == sum(owes for _, owes in CASES.values())
    assert report.captures_to_check == 1
    assert sorted(payments.due_for_recovery(NOW, 100)) == sorted(
        written.payment_id for written, owes in CASES.values() if owes
    )


def test_running_it_again_changes_nothing(payments):
    schedule_recovery(payments, NOW)
    versions = {p.payment_id: payments.get_payment(p.payment_id).version for p, _ in CASES.values()}

    again = schedule_recovery(payments, NOW + 60)

    assert again.scheduled == 0
    assert {p.payment_id: payments.get_payment(p.payment_id).version for p, _ in CASES.values()} == versions


def test_a_payment_with_a_check_already_keeps_it(payments):
    store = payments
    written = store.get_payment("PAY-LEGACY-1")
    store.transition(written, written.scheduled(NOW + 500, checks=2), None)

    schedule_recovery(store, NOW)

    assert store.get_payment("PAY-LEGACY-1").recovery == Recovery(due=NOW + 500, checks=2)
