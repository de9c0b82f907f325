"""Loading an operator's file into the store: upserts that never resurrect or alter a paid or held invoice."""

import json
from dataclasses import replace

import pytest

from epay.invoices import InvoiceStatus, invoice_id_for, invoice_id_key_fingerprint
from epay.lookup import criteria_from
from epay.ports import UpsertOutcome
from epay.schemas import SearchRequest
from epay_local.loader import InvoiceIdKeyProblem, load_invoices
from tests.support.factories import INVOICE_ID_KEY, an_invoice, many_invoices, put_hold, under_legacy_id

NOW = 1_795_000_000
KEY = INVOICE_ID_KEY.encode()


def listed(invoice_store, code):
    criteria = criteria_from(SearchRequest(subscription_code=code))
    return invoice_store.read_unpaid(criteria, None, 100).invoices


def test_a_new_invoice_is_written_and_listed(invoice_store):
    invoice = an_invoice("AB12")
    assert invoice_store.upsert_invoice(invoice, NOW) is UpsertOutcome.WRITTEN
    assert [i.invoice_id for i in listed(invoice_store, "AB12")] == [invoice.invoice_id]


def test_reloading_an_unpaid_invoice_updates_it_in_place(invoice_store):
    original = an_invoice("AB12", number="F-1", amount="100.00")
    invoice_store.upsert_invoice(original, NOW)
    invoice_store.upsert_invoice(an_invoice("AB12", number="F-1", amount="150.00", description="corrigée"), NOW)
    (stored,) = listed(invoice_store, "AB12")
    assert stored.invoice_id == original.invoice_id
    assert str(stored.amount) == "150.00"
    assert stored.description == "corrigée"


def test_a_paid_invoice_is_never_resurrected_or_altered(invoice_store):
    invoice_store.upsert_invoice(an_invoice("AB12", number="F-1", status=InvoiceStatus.PAID, amount="100.00"), NOW)
    outcome = invoice_store.upsert_invoice(an_invoice("AB12", number="F-1", amount="999.00"), NOW)
    assert outcome is UpsertOutcome.KEPT_PAID
    assert listed(invoice_store, "AB12") == []
    stored = stored_under(invoice_store, an_invoice("AB12", number="F-1").invoice_id)
    assert stored.status is InvoiceStatus.PAID
    assert str(stored.amount) == "100.00"


def test_an_invoice_held_by_a_live_payment_is_left_alone(invoice_store, dynamodb):
    invoice = an_invoice("AB12", number="F-1", amount="100.00")
    invoice_store.upsert_invoice(invoice, NOW)
    put_hold(dynamodb, "epay-test", invoice.invoice_id, "pay-1", NOW + 600)
    outcome = invoice_store.upsert_invoice(an_invoice("AB12", number="F-1", amount="200.00"), NOW)
    assert outcome is UpsertOutcome.KEPT_HELD
    assert str(stored_under(invoice_store, invoice.invoice_id).amount) == "100.00"


def test_an_expired_hold_does_not_block_a_reload(invoice_store, dynamodb):
    invoice = an_invoice("AB12", number="F-1", amount="100.00")
    invoice_store.upsert_invoice(invoice, NOW)
    put_hold(dynamodb, "epay-test", invoice.invoice_id, "pay-1", NOW - 1)
    assert invoice_store.upsert_invoice(an_invoice("AB12", number="F-1", amount="200.00"), NOW) is UpsertOutcome.WRITTEN


def test_loading_a_paid_line_takes_the_invoice_out_of_the_listing(invoice_store):
    invoice_store.upsert_invoice(an_invoice("AB12", number="F-1"), NOW)
    invoice_store.upsert_invoice(an_invoice("AB12", number="F-1", status=InvoiceStatus.PAID), NOW)
    assert listed(invoice_store, "AB12") == []


def test_load_reports_each_outcome(invoice_store):
    paid = an_invoice("AB12", number="P-1", status=InvoiceStatus.PAID)
    invoice_store.upsert_invoice(paid, NOW)
    outcomes = load_invoices(invoice_store, [an_invoice("AB12", number="P-1"), an_invoice("AB12")], NOW, KEY)
    assert outcomes == {UpsertOutcome.KEPT_PAID: 1, UpsertOutcome.WRITTEN: 1}


# -- keyed ids (issue 9, item 4): the table's key, and invoices still stored under their legacy id ----------------


def stored_under(invoice_store, invoice_id):
    return invoice_store.get_invoices([invoice_id]).get(invoice_id)


def test_the_first_load_records_a_fingerprint_of_the_key_never_the_key(invoice_store, dynamodb):
    load_invoices(invoice_store, [an_invoice("AB12")], NOW, KEY)
    items = dynamodb.scan(TableName="epay-test")["Items"]
    (record,) = [item for item in items if item["entity"]["S"] == "CONFIG"]
    assert record["fingerprint"]["S"] == invoice_id_key_fingerprint(KEY)
    assert INVOICE_ID_KEY not in json.dumps(items)


def test_a_loader_holding_another_key_stops_before_writing_anything(invoice_store):
    load_invoices(invoice_store, [an_invoice("AB12", number="F-1")], NOW, KEY)
    other_key = b"another-invoice-id-key-0123456789abcdef"
    again = replace(an_invoice("AB12", number="F-1"), invoice_id=invoice_id_for(other_key, "AB12", "ANP", "F-1"))
    with pytest.raises(InvoiceIdKeyProblem):
        load_invoices(invoice_store, [again], NOW, other_key)
    assert [i.invoice_id for i in listed(invoice_store, "AB12")] == [an_invoice("AB12", number="F-1").invoice_id]


def test_reloading_an_invoice_stored_under_its_legacy_id_moves_it_to_its_keyed_id_once(invoice_store):
    invoice_store.upsert_invoice(under_legacy_id(an_invoice("AB12", number="F-1", amount="100.00")), NOW)
    reloaded = an_invoice("AB12", number="F-1", amount="150.00")
    outcomes = load_invoices(invoice_store, [reloaded], NOW, KEY)
    assert outcomes == {UpsertOutcome.MOVED: 1}
    (listed_once,) = listed(invoice_store, "AB12")
    assert listed_once.invoice_id == reloaded.invoice_id
    assert str(listed_once.amount) == "150.00"
    assert stored_under(invoice_store, under_legacy_id(reloaded).invoice_id) is None


def test_a_legacy_invoice_already_paid_stays_paid_and_gets_no_keyed_copy(invoice_store):
    paid = under_legacy_id(an_invoice("AB12", number="F-1", amount="100.00", status=InvoiceStatus.PAID))
    invoice_store.upsert_invoice(paid, NOW)
    reloaded = an_invoice("AB12", number="F-1", amount="999.00")
    assert load_invoices(invoice_store, [reloaded], NOW, KEY) == {UpsertOutcome.KEPT_PAID: 1}
    assert listed(invoice_store, "AB12") == []
    assert stored_under(invoice_store, reloaded.invoice_id) is None
    kept = stored_under(invoice_store, paid.invoice_id)
    assert kept.status is InvoiceStatus.PAID
    assert str(kept.amount) == "100.00"


def test_a_legacy_invoice_held_by_a_live_payment_is_left_alone_and_gets_no_keyed_copy(invoice_store, dynamodb):
    held = under_legacy_id(an_invoice("AB12", number="F-1", amount="100.00"))
    invoice_store.upsert_invoice(held, NOW)
    put_hold(dynamodb, "epay-test", held.invoice_id, "pay-1", NOW + 600)
    reloaded = an_invoice("AB12", number="F-1", amount="200.00")
    assert load_invoices(invoice_store, [reloaded], NOW, KEY) == {UpsertOutcome.KEPT_HELD: 1}
    assert [(i.invoice_id, str(i.amount)) for i in listed(invoice_store, "AB12")] == [(held.invoice_id, "100.00")]
    assert stored_under(invoice_store, reloaded.invoice_id) is None


def test_a_legacy_invoice_whose_hold_lapsed_is_moved(invoice_store, dynamodb):
    lapsed = under_legacy_id(an_invoice("AB12", number="F-1"))
    invoice_store.upsert_invoice(lapsed, NOW)
    put_hold(dynamodb, "epay-test", lapsed.invoice_id, "pay-1", NOW - 1)
    reloaded = an_invoice("AB12", number="F-1")
    assert load_invoices(invoice_store, [reloaded], NOW, KEY) == {UpsertOutcome.MOVED: 1}
    assert [i.invoice_id for i in listed(invoice_store, "AB12")] == [reloaded.invoice_id]


def test_a_legacy_invoice_held_between_the_read_and_the_move_is_left_whole(invoice_store, dynamodb, monkeypatch):
    legacy = under_legacy_id(an_invoice("AB12", number="F-1", amount="100.00"))
    invoice_store.upsert_invoice(legacy, NOW)
    read = invoice_store.get_invoices

    def read_then_a_payment_holds_it(invoice_ids):
        found = read(invoice_ids)
        put_hold(dynamodb, "epay-test", legacy.invoice_id, "pay-1", NOW + 600)
        return found

    monkeypatch.setattr(invoice_store, "get_invoices", read_then_a_payment_holds_it)
    reloaded = an_invoice("AB12", number="F-1", amount="200.00")
    assert load_invoices(invoice_store, [reloaded], NOW, KEY) == {UpsertOutcome.KEPT_HELD: 1}
    assert stored_under(invoice_store, reloaded.invoice_id) is None
    assert str(stored_under(invoice_store, legacy.invoice_id).amount) == "100.00"
    assert [i.invoice_id for i in listed(invoice_store, "AB12")] == [legacy.invoice_id]


def test_a_file_of_legacy_and_new_invoices_lists_each_invoice_exactly_once(invoice_store):
    old = [under_legacy_id(invoice) for invoice in many_invoices("AB12", 7)]
    for invoice in old:
        invoice_store.upsert_invoice(invoice, NOW)
    reloaded = many_invoices("AB12", 9)
    outcomes = load_invoices(invoice_store, reloaded, NOW, KEY)
    assert outcomes == {UpsertOutcome.MOVED: 7, UpsertOutcome.WRITTEN: 2}
    assert sorted(i.invoice_id for i in listed(invoice_store, "AB12")) == sorted(i.invoice_id for i in reloaded)
