"""The outside review's callback findings (issue 9, items 1, 2, 3, 5), each reproduced as the review did it.

Races are reproduced two ways: deterministically, by letting a concurrent copy of a notification commit between the
engine's read of the payment and its write (exactly the interleaving the review hit), and with real threads, one
function container each, on one store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from epay import callbacks, clock, runtime
from epay.adapters.dynamodb import payments as payment_store_module
from epay.invoices import InvoiceStatus
from epay.payments import PaymentStatus
from tests.conftest import TEST_ENVIRONMENT
from tests.support.containers import all_at_once
from tests.support.factories import an_invoice
from tests.support.payments import (
    CODE,
    cancel_payment,
    cmi_answer,
    cmi_callback,
    confirmation,
    fatourati_signature,
    form,
    given_invoices,
    json_answer,
    m2t_notification,
    m2t_signature,
    payment,
    post_cmi,
    post_fatourati,
    post_m2t,
    start_payment,
    stored_invoice,
)

OK = (200, {"status": "OK"})


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """The names of the metrics the callback engine emits."""
    names: list[str] = []

    def add_metric(*, name: str, unit: str, value: float) -> None:
        names.append(name)

    monkeypatch.setattr(callbacks.metrics, "add_metric", add_metric)
    return names


def stored(payment_id: str):
    found = runtime.payment_store().get_payment(payment_id)
    assert found is not None
    return found


def concurrently_committed(monkeypatch, payment_id: str, copy: Callable[[], Any]) -> list[Any]:
    """Make the next read of `payment_id` return the payment as it was, after `copy` (a concurrent delivery of the
    same notification) has committed: the interleaving in which the review saw wrong answers."""
    store = runtime.payment_store()
    real_read = store.get_payment
    answers: list[Any] = []
    pending = [copy]

    def read(asked: str):
        found = real_read(asked)
        if asked == payment_id and pending:
            answers.append(pending.pop()())
        return found

    monkeypatch.setattr(store, "get_payment", read)
    return answers


def service():
    return runtime.callback_service()


def now_ms() -> int:
    return clock.now() * 1000


# -- item 1: a duplicate that arrives while the first is in flight gets the duplicate's answer -----------------


def test_a_fatourati_confirm_duplicated_while_the_first_is_in_flight_is_told_already_applied(
    dynamodb, frozen, monkeypatch
):
    # Given a reference, and a signed confirmation the bank sends twice at once
    created = start_payment(given_invoices(an_invoice(CODE, amount="300.00")), "CMI", "FATOURATI")
    body = json.dumps(confirmation(created["reference"]["code"], "300.00", transaction_id="FTR-77")).encode()
    signature = fatourati_signature(body)
    first = concurrently_committed(
        monkeypatch, created["payment_id"], lambda: service().fatourati_confirm(body, signature, now_ms())
    )
    # When the second copy read the payment before the first committed
    second = json_answer(post_fatourati("confirm", body, signature))
    # Then the first applied it and the second is told it was already applied: never "do not debit"
    assert first == [(200, {"code": "000"})]
    assert second == (200, {"code": "301"})
    assert payment(created["payment_id"])["status"] == "PAID"


def test_an_m2t_paid_duplicated_while_the_first_is_in_flight_is_acknowledged(dynamodb, frozen, monkeypatch):
    created = start_payment(given_invoices(an_invoice(CODE, amount="300.00")), "M2T", "CARD")
    body = m2t_notification(created["payment_id"], "PAID", "300.00", event_id="evt-dup", transaction_id="TX-1")
    signature = m2t_signature(body)
    first = concurrently_committed(monkeypatch, created["payment_id"], lambda: service().m2t(body, signature, now_ms()))
    second = json_answer(post_m2t(body, signature))
    assert first == [OK]
    assert second == OK
    assert payment(created["payment_id"])["status"] == "PAID"


def test_an_m2t_failure_duplicated_while_the_first_is_in_flight_is_acknowledged(dynamodb, frozen, monkeypatch):
    invoices = given_invoices(an_invoice(CODE, amount="300.00"))
    created = start_payment(invoices, "M2T", "CARD")
    body = m2t_notification(created["payment_id"], "FAILED", "300.00", event_id="evt-fail")
    signature = m2t_signature(body)
    first = concurrently_committed(monkeypatch, created["payment_id"], lambda: service().m2t(body, signature, now_ms()))
    second = json_answer(post_m2t(body, signature))
    assert (first, second) == ([OK], OK)
    assert payment(created["payment_id"])["status"] == "FAILED"
    assert stored_invoice(invoices[0].invoice_id).hold is None


def test_a_cmi_success_duplicated_while_the_first_is_in_flight_is_captured_once(dynamodb, frozen, monkeypatch):
    created = start_payment(given_invoices(an_invoice(CODE, amount="300.00")), "CMI", "CARD")
    body = form(cmi_callback(created))
    first = concurrently_committed(monkeypatch, created["payment_id"], lambda: service().cmi(body, now_ms()))
    second = cmi_answer(post_cmi(raw_body=body))
    assert first == [(200, "ACTION=POSTAUTH")]
    assert second == (200, "ACTION=POSTAUTH")
    assert payment(created["payment_id"])["status"] == "PAID"


def test_twelve_concurrent_copies_of_one_confirm_are_applied_once_and_never_refused(containers, frozen):
    # Given a reference and twelve copies of one signed confirmation through four function containers
    created = start_payment(given_invoices(an_invoice(CODE, amount="300.00")), "CMI", "FATOURATI")
    body = json.dumps(confirmation(created["reference"]["code"], "300.00", transaction_id="FTR-12")).encode()
    signature = fatourati_signature(body)
    handlers = containers("POST", "/v1/callbacks/fatourati/confirm", 4)
    # When they all arrive at once
    responses = all_at_once(
        [
            lambda handler=handlers[index % 4]: post_fatourati("confirm", body, signature, handler=handler)
            for index in range(12)
        ]
    )
    # Then exactly one applied it and every other copy was told it was already applied (or asked to retry)
    codes = sorted(json_answer(response)[1]["code"] for response in responses)
    assert codes.count("000") == 1
    assert set(codes) <= {"000", "301", "503"}, codes
    assert "410" not in codes
    assert payment(created["payment_id"])["status"] == "PAID"


# -- item 2: a late success never settles an invoice whose amount changed ----------------------------------------


@pytest.mark.parametrize("gateway", ["CMI", "M2T"])
def test_a_late_success_for_an_invoice_reloaded_at_another_amount_is_not_captured(dynamodb, frozen, gateway):
    # Given a 1020.00 payment, cancelled, then its invoice reloaded by the issuer at 5000.00
    invoice = an_invoice(CODE, number="F-REL-1", amount="1020.00")
    given_invoices(invoice)
    created = start_payment([invoice], gateway, "CARD")
    assert cancel_payment(created["payment_id"])["statusCode"] == 200
    given_invoices(an_invoice(CODE, number="F-REL-1", amount="5000.00"))
    # When the gateway reports the 1020.00 success late
    if gateway == "CMI":
        answer: Any = cmi_answer(post_cmi(cmi_callback(created)))
        assert answer == (200, "APPROVED")  # not captured
    else:
        answer = json_answer(post_m2t(m2t_notification(created["payment_id"], "PAID", "1020.00")))
        assert answer == OK
    # Then the payment is flagged for review and the 5000.00 invoice is still unpaid
    assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"
    assert stored(created["payment_id"]).review_reason == "INVOICE_AMOUNT_CHANGED"
    reloaded = stored_invoice(invoice.invoice_id)
    assert (reloaded.status, str(reloaded.amount)) == (InvoiceStatus.UNPAID, "5000.00")


def test_a_late_success_for_an_unchanged_invoice_still_settles(dynamodb, frozen):
    invoice = an_invoice(CODE, number="F-REL-2", amount="1020.00")
    given_invoices(invoice)
    created = start_payment([invoice], "CMI", "CARD")
    assert cancel_payment(created["payment_id"])["statusCode"] == 200
    given_invoices(an_invoice(CODE, number="F-REL-2", amount="1020.00"))
    assert cmi_answer(post_cmi(cmi_callback(created))) == (200, "ACTION=POSTAUTH")
    assert payment(created["payment_id"])["status"] == "PAID"


# -- item 3: M2T events are de-duplicated per order; deterministic failures are final --------------------------


def test_an_m2t_event_id_used_by_one_order_settles_another_order(dynamodb, frozen):
    first = start_payment(given_invoices(an_invoice(CODE, number="F-EV-1", amount="100.00")), "M2T", "CARD")
    second = start_payment(given_invoices(an_invoice(CODE, number="F-EV-2", amount="200.00")), "M2T", "CARD")
    assert json_answer(post_m2t(m2t_notification(first["payment_id"], "PAID", "100.00", event_id="1"))) == OK
    assert json_answer(post_m2t(m2t_notification(second["payment_id"], "PAID", "200.00", event_id="1"))) == OK
    assert payment(second["payment_id"])["status"] == "PAID"


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "EXPIRED"])
def test_an_m2t_end_event_id_used_by_one_order_ends_another_order(dynamodb, frozen, status):
    first = start_payment(given_invoices(an_invoice(CODE, number="F-EV-3", amount="100.00")), "M2T", "CARD")
    second = start_payment(given_invoices(an_invoice(CODE, number="F-EV-4", amount="200.00")), "M2T", "CARD")
    assert json_answer(post_m2t(m2t_notification(first["payment_id"], status, "100.00", event_id="7"))) == OK
    assert json_answer(post_m2t(m2t_notification(second["payment_id"], status, "200.00", event_id="7"))) == OK
    assert payment(second["payment_id"])["status"] == status


def test_the_same_m2t_event_for_the_same_order_is_still_applied_once(dynamodb, frozen, counted):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "M2T", "CARD")
    body = m2t_notification(created["payment_id"], "PAID", "100.00", event_id="9")
    assert json_answer(post_m2t(body)) == OK
    assert json_answer(post_m2t(body)) == OK
    assert counted.count("PaymentsPaid") == 1


def broken_read(*_: Any) -> None:
    raise KeyError("status")  # a stored item the code cannot read: the same every time


def test_a_deterministic_failure_is_final_for_m2t_never_a_retry(dynamodb, frozen, monkeypatch, counted):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "M2T", "CARD")
    monkeypatch.setattr(runtime.payment_store(), "get_payment", broken_read)
    status, _ = json_answer(post_m2t(m2t_notification(created["payment_id"], "PAID", "100.00")))
    assert 400 <= status < 500
    assert "CallbackFailed" in counted


def test_a_deterministic_failure_is_final_for_fatourati_and_the_bank_takes_nothing(dynamodb, frozen, monkeypatch):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "CMI", "FATOURATI")
    monkeypatch.setattr(runtime.payment_store(), "get_payment", broken_read)
    answer = json_answer(post_fatourati("confirm", confirmation(created["reference"]["code"], "100.00")))
    assert answer == (410, {"code": "410"})


def test_a_deterministic_failure_is_final_for_cmi(dynamodb, frozen, monkeypatch):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "CMI", "CARD")
    monkeypatch.setattr(runtime.payment_store(), "get_payment", broken_read)
    status, body = cmi_answer(post_cmi(cmi_callback(created)))
    assert (status < 500, body) == (True, "FAILURE")


# -- item 5: money taken that settles nothing is recorded, counted and alarmed ----------------------------------


def test_a_second_m2t_paid_with_another_transaction_is_money_to_return(dynamodb, frozen, counted):
    # Given an M2T payment settled by transaction TX-A
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "M2T", "CARD")
    paid = m2t_notification(created["payment_id"], "PAID", "100.00", transaction_id="TX-A")
    assert json_answer(post_m2t(paid)) == OK
    # When M2T reports a second payment, TX-B, for the same order (and repeats that report)
    second = m2t_notification(created["payment_id"], "PAID", "100.00", transaction_id="TX-B")
    assert json_answer(post_m2t(second)) == OK
    assert json_answer(post_m2t(second)) == OK
    # Then the payment still settled by TX-A shows TX-B as money to return, recorded and counted once
    view = payment(created["payment_id"])
    assert (view["status"], view["gateway_transaction_id"]) == ("PAID", "TX-A")
    assert [(f["transaction_id"], f["amount"], f["reason"]) for f in view["unapplied_funds"]] == [
        ("TX-B", "100.00", "SECOND_PAYMENT")
    ]
    assert counted.count("UnappliedFunds") == 1


def test_an_m2t_paid_in_another_currency_is_refused_and_money_to_return(dynamodb, frozen, counted):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "M2T", "CARD")
    body = m2t_notification(created["payment_id"], "PAID", "100.00", currency="EUR", transaction_id="TX-EUR")
    assert json_answer(post_m2t(body)) == (409, {"status": "AMOUNT_MISMATCH"})
    view = payment(created["payment_id"])
    assert view["status"] == "PENDING"
    assert [(f["transaction_id"], f["currency"], f["reason"]) for f in view["unapplied_funds"]] == [
        ("TX-EUR", "EUR", "CURRENCY_MISMATCH")
    ]
    assert counted.count("UnappliedFunds") == 1


def test_an_m2t_paid_for_another_amount_is_refused_and_money_to_return(dynamodb, frozen, counted):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "M2T", "CARD")
    body = m2t_notification(created["payment_id"], "PAID", "90.00", transaction_id="TX-90")
    assert json_answer(post_m2t(body)) == (409, {"status": "AMOUNT_MISMATCH"})
    (funds,) = payment(created["payment_id"])["unapplied_funds"]
    assert (funds["amount"], funds["reason"]) == ("90.00", "AMOUNT_MISMATCH")


def test_a_second_cmi_authorisation_for_a_paid_payment_is_money_to_return(dynamodb, frozen, counted):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "CMI", "CARD")
    assert cmi_answer(post_cmi(cmi_callback(created, trans_id="T-1"))) == (200, "ACTION=POSTAUTH")
    assert cmi_answer(post_cmi(cmi_callback(created, trans_id="T-2"))) == (200, "APPROVED")
    view = payment(created["payment_id"])
    assert view["gateway_transaction_id"] == "T-1"
    assert [f["transaction_id"] for f in view["unapplied_funds"]] == ["T-2"]
    assert counted.count("UnappliedFunds") == 1


def test_a_fatourati_confirm_refused_before_the_debit_is_not_money_to_return(dynamodb, frozen, counted):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "CMI", "FATOURATI")
    answer = json_answer(post_fatourati("confirm", confirmation(created["reference"]["code"], "90.00")))
    assert answer == (409, {"code": "420"})
    assert payment(created["payment_id"])["unapplied_funds"] == []
    assert "UnappliedFunds" not in counted


def test_a_paid_payment_is_not_changed_by_recording_money_to_return(dynamodb, frozen):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "M2T", "CARD")
    assert json_answer(post_m2t(m2t_notification(created["payment_id"], "PAID", "100.00"))) == OK
    settled = stored(created["payment_id"])
    assert json_answer(post_m2t(m2t_notification(created["payment_id"], "PAID", "100.00"))) == OK
    assert stored(created["payment_id"]) == settled
    assert settled.status is PaymentStatus.PAID


# -- item 8: evidence of unauthenticated callbacks is bounded ---------------------------------------------------


def unmatched_items(client) -> list[dict[str, Any]]:
    items = client.scan(TableName=TEST_ENVIRONMENT["EPAY_TABLE"], ConsistentRead=True)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("CALLBACK#UNMATCHED#")]


def test_forged_callbacks_are_spread_expire_and_are_only_counted_past_a_bound(dynamodb, frozen, monkeypatch):
    # Given a bound of 3 kept per shard and day
    monkeypatch.setattr(payment_store_module, "UNMATCHED_KEPT_PER_SHARD", 3)
    # When 40 callbacks with a wrong signature arrive (each a different body)
    for index in range(40):
        post_m2t(m2t_notification(f"PAY-FORGED-{index}", "PAID", "1.00"), "t=1,v1=00")
    items = unmatched_items(dynamodb)
    evidence = [item for item in items if item["sk"]["S"].startswith("CALLBACK#")]
    counters = [item for item in items if item["sk"]["S"] == "COUNT"]
    # Then they are spread over several partitions, every one counted, at most 3 kept in each, all expiring
    assert len({item["pk"]["S"] for item in evidence}) > 1
    assert sum(int(counter["received"]["N"]) for counter in counters) == 40
    per_partition: dict[str, int] = {}
    for item in evidence:
        per_partition[item["pk"]["S"]] = per_partition.get(item["pk"]["S"], 0) + 1
    assert max(per_partition.values()) <= 3
    assert len(evidence) < 40
    assert all("purge_at" in item for item in items)


def test_evidence_about_a_known_payment_is_kept_and_never_expires(dynamodb, frozen):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "M2T", "CARD")
    assert json_answer(post_m2t(m2t_notification(created["payment_id"], "PAID", "100.00"))) == OK
    partition = dynamodb.query(
        TableName=TEST_ENVIRONMENT["EPAY_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PAYMENT#{created['payment_id']}"}},
    )["Items"]
    assert any(item["sk"]["S"].startswith("CALLBACK#") for item in partition)
    assert not any("purge_at" in item for item in partition)
