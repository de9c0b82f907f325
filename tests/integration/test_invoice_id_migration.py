"""`epay migrate-invoice-ids` (issue 9, item 4): invoices and payments stored before issue 9 move to keyed ids.

The invariants, checked throughout: nothing is half-written, a paid invoice is never resurrected or altered (it
moves as it is), no invoice appears twice in a listing, and no payment view keeps showing a legacy id.
"""

from dataclasses import replace

import pytest

import list_invoices_handler
from epay import runtime
from epay.invoices import InvoiceStatus, invoice_id_for, legacy_invoice_id_for
from epay_local.migration import migrate_invoice_ids
from tests.support.code_search import candidate_codes, codes_reproducing
from tests.support.factories import (
    INVOICE_ID_KEY,
    FakeLambdaContext,
    an_invoice,
    http_event,
    response_json,
    under_legacy_id,
)
from tests.support.payments import (
    CODE,
    invoice_if_stored,
    pay_by_card,
    payment,
    search,
    start_payment,
    stored_payments,
)

KEY = INVOICE_ID_KEY.encode()
HOLD = 1800


def stored_before_issue_9(*invoices):
    """Invoices as a release before issue 9 loaded them: under their unkeyed id."""
    legacy = [under_legacy_id(invoice) for invoice in invoices]
    for invoice in legacy:
        runtime.invoice_store().upsert_invoice(invoice, 1_795_000_000)
    return legacy


def keyed_id(invoice):
    return invoice_id_for(KEY, invoice.subscription_code, invoice.issuer.code, invoice.invoice_number)


def stored(invoice_id):
    return invoice_if_stored(invoice_id)


def migrate(frozen):
    return migrate_invoice_ids(runtime.invoice_store(), runtime.payment_store(), KEY, frozen.now)


def table_items(dynamodb):
    items = dynamodb.scan(TableName="epay-test")["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def test_an_unpaid_legacy_invoice_moves_to_its_keyed_id_and_is_listed_once(dynamodb, frozen):
    (legacy,) = stored_before_issue_9(an_invoice(CODE, number="F-1", amount="100.00"))
    report = migrate(frozen)
    assert report.invoices_moved == 1
    assert report.complete
    listed = search()
    assert list(listed) == [keyed_id(legacy)]
    assert listed[keyed_id(legacy)]["amount"] == "100.00"
    assert stored(legacy.invoice_id) is None


def test_a_paid_invoice_moves_unaltered_and_its_payment_names_the_keyed_id(dynamodb, frozen):
    (legacy,) = stored_before_issue_9(an_invoice(CODE, number="F-1", amount="100.00"))
    created = start_payment([legacy])
    assert pay_by_card(created) == (200, "ACTION=POSTAUTH")
    paid_before = stored(legacy.invoice_id)
    report = migrate(frozen)
    assert (report.invoices_moved, report.payments_rewritten) == (1, 1)
    moved = stored(keyed_id(legacy))
    assert moved == replace(paid_before, invoice_id=keyed_id(legacy))
    assert moved.status is InvoiceStatus.PAID
    assert moved.paid_by == created["payment_id"]
    assert search() == {}
    view = payment(created["payment_id"])
    assert view["status"] == "PAID"
    assert [line["invoice_id"] for line in view["invoices"]] == [keyed_id(legacy)]


def test_after_the_migration_an_old_payment_view_no_longer_gives_the_code_away(dynamodb, frozen):
    (legacy,) = stored_before_issue_9(an_invoice(CODE, number="F-2026-000123", issuer="ANP"))
    created = start_payment([legacy])
    frozen.advance(HOLD)

    def codes_found_from_the_view():
        view = payment(created["payment_id"])
        (line,) = view["invoices"]
        return codes_reproducing(
            line["invoice_id"], view["issuer"]["code"], line["invoice_number"], candidate_codes(CODE)
        )

    assert codes_found_from_the_view() == {CODE}
    migrate(frozen)
    assert codes_found_from_the_view() == set()


def test_an_invoice_held_by_a_live_payment_waits_with_its_payment_for_a_later_run(dynamodb, frozen):
    held, free = stored_before_issue_9(an_invoice(CODE, number="F-1"), an_invoice(CODE, number="F-2"))
    created = start_payment([held])
    report = migrate(frozen)
    assert (report.invoices_moved, report.invoices_held, report.payments_live) == (1, 1, 1)
    assert report.wait_until == frozen.now + HOLD
    assert not report.complete
    assert sorted(search()) == sorted([held.invoice_id, keyed_id(free)])
    assert [line["invoice_id"] for line in payment(created["payment_id"])["invoices"]] == [held.invoice_id]
    frozen.advance(HOLD)
    again = migrate(frozen)
    assert (again.invoices_moved, again.payments_rewritten, again.invoices_already_keyed) == (1, 1, 1)
    assert again.complete
    assert sorted(search()) == sorted([keyed_id(held), keyed_id(free)])
    assert [line["invoice_id"] for line in payment(created["payment_id"])["invoices"]] == [keyed_id(held)]


def test_a_late_success_for_an_expired_payment_still_settles_the_invoices_it_moved_with(dynamodb, frozen):
    invoices = stored_before_issue_9(an_invoice(CODE, number="F-1"), an_invoice(CODE, number="F-2"))
    lapsed = start_payment(invoices)
    frozen.advance(HOLD + 60)
    migrate(frozen)
    assert pay_by_card(lapsed) == (200, "ACTION=POSTAUTH")
    assert payment(lapsed["payment_id"])["status"] == "PAID"
    for invoice in invoices:
        assert stored(keyed_id(invoice)).paid_by == lapsed["payment_id"]
        assert stored(invoice.invoice_id) is None
    assert search() == {}


def test_a_payment_of_fifty_invoices_is_rewritten_with_all_of_them(dynamodb, frozen):
    invoices = stored_before_issue_9(*(an_invoice(CODE, number=f"F-{index:02d}") for index in range(50)))
    created = start_payment(invoices)
    cancelled = runtime.payment_service().cancel(created["payment_id"], frozen.now)
    assert cancelled.status == "CANCELLED"
    report = migrate(frozen)
    assert (report.invoices_moved, report.payments_rewritten) == (50, 1)
    assert [line["invoice_id"] for line in payment(created["payment_id"])["invoices"]] == [
        keyed_id(invoice) for invoice in invoices
    ]
    assert sorted(search()) == sorted(keyed_id(invoice) for invoice in invoices)


def test_running_it_again_changes_nothing(dynamodb, frozen):
    invoices = stored_before_issue_9(an_invoice(CODE, number="F-1"), an_invoice(CODE, number="F-2"))
    start_payment(invoices[:1])
    frozen.advance(HOLD)
    migrate(frozen)
    before = table_items(dynamodb)
    again = migrate(frozen)
    assert (again.invoices_moved, again.payments_rewritten, again.invoices_already_keyed) == (0, 0, 2)
    assert again.complete
    assert table_items(dynamodb) == before


def test_an_interrupted_run_leaves_every_invoice_listed_once_and_the_next_run_finishes(dynamodb, frozen, monkeypatch):
    invoices = stored_before_issue_9(*(an_invoice(CODE, number=f"F-{index}") for index in range(6)))
    store = runtime.invoice_store()
    move = store.move_invoices
    calls = []

    def interrupted_after_three_moves(*args, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(args)
        return move(*args, **kwargs)

    monkeypatch.setattr(store, "move_invoices", interrupted_after_three_moves)
    with pytest.raises(KeyboardInterrupt):
        migrate(frozen)
    listed = search()
    assert sorted(item["invoice_number"] for item in listed.values()) == [f"F-{index}" for index in range(6)]
    assert len([invoice for invoice in invoices if keyed_id(invoice) in listed]) == 3
    assert len([invoice for invoice in invoices if invoice.invoice_id in listed]) == 3
    monkeypatch.setattr(store, "move_invoices", move)
    report = migrate(frozen)
    assert (report.invoices_moved, report.invoices_already_keyed) == (3, 3)
    assert sorted(search()) == sorted(keyed_id(invoice) for invoice in invoices)


def test_an_invoice_stored_under_both_ids_is_left_for_an_operator(dynamodb, frozen):
    invoice = an_invoice(CODE, number="F-1")
    stored_before_issue_9(invoice)
    runtime.invoice_store().upsert_invoice(invoice, frozen.now)
    report = migrate(frozen)
    assert report.invoices_under_both_ids == 1
    assert report.needs_operator
    assert stored(legacy_invoice_id_for(CODE, "ANP", "F-1")) is not None
    assert stored(invoice.invoice_id) is not None


def test_an_invoice_under_an_id_of_another_key_is_left_for_an_operator(dynamodb, frozen):
    invoice = an_invoice(CODE, number="F-1")
    foreign = replace(invoice, invoice_id=invoice_id_for(b"x" * 32, CODE, "ANP", "F-1"))
    runtime.invoice_store().upsert_invoice(foreign, frozen.now)
    report = migrate(frozen)
    assert report.invoices_under_unknown_ids == 1
    assert report.needs_operator
    assert list(search()) == [foreign.invoice_id]


def test_payments_without_legacy_ids_are_not_touched(dynamodb, frozen):
    invoice = an_invoice(CODE, number="F-1")
    runtime.invoice_store().upsert_invoice(invoice, frozen.now)
    start_payment([invoice])
    before = stored_payments()
    report = migrate(frozen)
    assert (report.payments_rewritten, report.payments_live) == (0, 0)
    assert stored_payments() == before


def test_a_cursor_minted_before_the_migration_still_resumes_after_it(dynamodb, frozen):
    invoices = stored_before_issue_9(*(an_invoice(CODE, number=f"F-{index}") for index in range(3)))
    first = search_page(cursor=None)
    migrate(frozen)
    second = search_page(cursor=first["next_cursor"])
    assert [item["invoice_number"] for item in first["items"] + second["items"]] == ["F-0", "F-1", "F-2"]
    assert [item["invoice_id"] for item in second["items"]] == [keyed_id(invoice) for invoice in invoices[1:]]
    assert second["next_cursor"] is None


def search_page(cursor):
    body = {"subscription_code": CODE, "page_size": 1 if cursor is None else 50, "cursor": cursor}
    event = http_event("POST", "/v1/invoices/search", body=body, source_ip="198.51.100.252")
    response = list_invoices_handler.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return response_json(response)
