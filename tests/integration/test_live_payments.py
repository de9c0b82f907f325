"""At most `EPAY_LIVE_PAYMENTS_PER_CODE` live payments per subscription code (api.md §8), on moto's DynamoDB: through
the create_payment function, under concurrent creations, and with the slots' own bookkeeping (released when a payment
ends; reclaimed when a release was lost or a hold lapsed). tests/integration/test_store_contract.py holds the
fakes to the same rule."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from epay import runtime
from epay.adapters.dynamodb.items import live_slot_key
from epay.payments import PaymentEvent
from epay.ports import TooManyLivePayments
from tests.support.factories import an_invoice, response_json
from tests.support.payments import (
    CODE,
    NOW,
    OTHER_CODE,
    cancel_payment,
    given_invoices,
    payment_request,
    post_payment,
    start_payment,
    stored_invoice,
)


def slot(code: str, number: int) -> dict[str, Any] | None:
    """One slot item as stored (None: never used)."""
    store = runtime.payment_store()
    item = store.client.get_item(TableName=store.table, Key=live_slot_key(code, number), ConsistentRead=True)
    return item.get("Item")


def holder(code: str, number: int) -> str | None:
    found = slot(code, number)
    return found["payment_id"]["S"] if found and "payment_id" in found else None


# -- through the function -----------------------------------------------------------------------------------------


def test_the_fourth_live_payment_of_a_code_is_refused_with_429(dynamodb, frozen):
    invoices = given_invoices(*(an_invoice(CODE) for _ in range(4)))
    created = [start_payment([invoice]) for invoice in invoices[:3]]
    response = post_payment(payment_request([invoices[3]]))
    assert response["statusCode"] == 429, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = response_json(response)
    assert (problem["code"], problem["status"]) == ("TOO_MANY_LIVE_PAYMENTS", 429)
    assert "paiements" in problem["detail"]
    assert stored_invoice(invoices[3].invoice_id).hold is None
    assert {holder(CODE, n) for n in (1, 2, 3)} == {payment["payment_id"] for payment in created}


def test_another_code_is_not_held_back(dynamodb, frozen):
    for invoice in given_invoices(*(an_invoice(CODE) for _ in range(3))):
        start_payment([invoice])
    (theirs,) = given_invoices(an_invoice(OTHER_CODE))
    assert start_payment([theirs], code=OTHER_CODE)["status"] == "PENDING"


def test_a_cancelled_payment_releases_its_slot_for_the_next(dynamodb, frozen):
    invoices = given_invoices(*(an_invoice(CODE) for _ in range(4)))
    first, *_ = [start_payment([invoice]) for invoice in invoices[:3]]
    assert cancel_payment(first["payment_id"])["statusCode"] == 200
    assert holder(CODE, 1) is None
    fourth = start_payment([invoices[3]])
    assert holder(CODE, 1) == fourth["payment_id"]


def test_a_lapsed_hold_frees_its_slot_by_time(dynamodb, frozen, monkeypatch):
    monkeypatch.setenv("EPAY_HOLD_SECONDS", "900")
    runtime.reset()
    invoices = given_invoices(*(an_invoice(CODE) for _ in range(4)))
    for invoice in invoices[:3]:
        start_payment([invoice])
    frozen.advance(899)
    assert post_payment(payment_request([invoices[3]]))["statusCode"] == 429
    frozen.advance(1)
    assert start_payment([invoices[3]])["status"] == "PENDING"


def test_the_limit_is_the_configured_one(dynamodb, frozen, monkeypatch):
    monkeypatch.setenv("EPAY_LIVE_PAYMENTS_PER_CODE", "1")
    runtime.reset()
    first, second = given_invoices(an_invoice(CODE), an_invoice(CODE))
    start_payment([first])
    assert response_json(post_payment(payment_request([second])))["code"] == "TOO_MANY_LIVE_PAYMENTS"


# -- the slots ------------------------------------------------------------------------------------------------------


def test_a_settled_payment_releases_its_slot(dynamodb, frozen):
    (invoice,) = given_invoices(an_invoice(CODE))
    created = start_payment([invoice])
    store = runtime.payment_store()
    payment = store.get_payment(created["payment_id"])
    assert payment.live_slot == 1
    store.settle(payment, payment.advance(PaymentEvent.SETTLED, paid_at=NOW, settled_by="fp"), NOW, _evidence(payment))
    assert slot(CODE, 1) is not None
    assert holder(CODE, 1) is None


def test_an_ended_payment_whose_release_failed_is_reclaimed_after_a_read(dynamodb, frozen, monkeypatch):
    invoices = given_invoices(*(an_invoice(CODE) for _ in range(4)))
    created = [start_payment([invoice]) for invoice in invoices[:3]]
    store = runtime.payment_store()
    lost = ClientError({"Error": {"Code": "InternalServerError", "Message": "lost"}}, "UpdateItem")
    real_update = store.client.update_item

    def failing_release(**request: Any) -> Any:
        if request["Key"]["pk"]["S"].startswith("LIVE#"):
            raise lost
        return real_update(**request)

    cancelling = store.get_payment(created[1]["payment_id"])
    with monkeypatch.context() as patched:
        patched.setattr(store.client, "update_item", failing_release)
        store.transition(cancelling, cancelling.advance(PaymentEvent.CANCELLED_BY_PAYER), None, cancelling.invoice_ids)
    assert store.get_payment(created[1]["payment_id"]).status.value == "CANCELLED"
    assert holder(CODE, 2) == created[1]["payment_id"]  # the release was lost: the slot still names it
    fourth = start_payment([invoices[3]])
    assert holder(CODE, 2) == fourth["payment_id"]
    assert post_payment(payment_request([given_invoices(an_invoice(CODE))[0]]))["statusCode"] == 429


# -- concurrency ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("contenders", [4, 8])
def test_concurrent_creations_never_exceed_the_limit(dynamodb, contenders):
    store = runtime.payment_store()
    invoice_store = runtime.invoice_store()

    invoices = [an_invoice(CODE) for _ in range(contenders)]
    for invoice in invoices:
        invoice_store.upsert_invoice(invoice, NOW)
    start = threading.Barrier(contenders)

    def create(invoice: Any) -> str:
        payment = a_payment([invoice])
        start.wait()
        try:
            store.create_payment(payment, NOW, 3)
        except TooManyLivePayments:
            return "refused"
        return payment.payment_id

    with ThreadPoolExecutor(contenders) as pool:
        outcomes = list(pool.map(create, invoices))

    created = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(created) == 3
    assert outcomes.count("refused") == contenders - 3
    assert sorted(holder(CODE, n) or "" for n in (1, 2, 3)) == sorted(created)
    assert sum(1 for payment_id in created if store.get_payment(payment_id).is_live(NOW)) == 3


def test_concurrent_creations_after_ends_and_lapses_still_never_exceed_the_limit(dynamodb):
    store = runtime.payment_store()
    invoice_store = runtime.invoice_store()

    # Given a code whose three slots hold a lapsed payment, a cancelled one (release lost) and a live one
    old = [an_invoice(CODE) for _ in range(3)]
    for invoice in old:
        invoice_store.upsert_invoice(invoice, NOW)
    lapsed = a_payment([old[0]], expires_at=NOW + 10)
    cancelled = a_payment([old[1]])
    live = a_payment([old[2]], expires_at=NOW + 4000)
    for payment in (lapsed, cancelled, live):
        store.create_payment(payment, NOW, 3)
    stored = store.get_payment(cancelled.payment_id)
    store.client.put_item(
        TableName=store.table,
        Item=_payment_item(stored.advance(PaymentEvent.CANCELLED_BY_PAYER)),
    )
    contenders = 6
    invoices = [an_invoice(CODE) for _ in range(contenders)]
    for invoice in invoices:
        invoice_store.upsert_invoice(invoice, NOW)
    start = threading.Barrier(contenders)

    def create(invoice: Any) -> str:
        payment = a_payment([invoice], expires_at=NOW + 4000)
        start.wait()
        try:
            store.create_payment(payment, NOW + 10, 3)
        except TooManyLivePayments:
            return "refused"
        return payment.payment_id

    with ThreadPoolExecutor(contenders) as pool:
        outcomes = list(pool.map(create, invoices))

    created = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(created) == 2
    holders = {holder(CODE, n) for n in (1, 2, 3)}
    assert holders == {live.payment_id, *created}


def a_payment(invoices: list[Any], **options: Any) -> Any:
    """A payment of `CODE` as the store contract's tests build them."""
    from tests.integration.test_store_contract import a_payment as contract_payment

    return replace(contract_payment(invoices, **options), subscription_code=CODE)


def _evidence(payment: Any) -> Any:
    from tests.integration.test_store_contract import evidence

    return evidence(payment)


def _payment_item(payment: Any) -> Any:
    from epay.adapters.dynamodb.items import payment_item

    return payment_item(payment)


def test_a_card_payment_superseding_a_reference_takes_its_slot_when_none_is_free(dynamodb, frozen):
    invoices = given_invoices(*(an_invoice(CODE) for _ in range(4)))
    references = [start_payment([invoice], "CMI", "FATOURATI") for invoice in invoices[:3]]
    card = start_payment([invoices[1]], "CMI", "CARD")
    assert holder(CODE, 2) == card["payment_id"]
    assert {holder(CODE, 1), holder(CODE, 3)} == {references[0]["payment_id"], references[2]["payment_id"]}
    assert post_payment(payment_request([invoices[3]]))["statusCode"] == 429
