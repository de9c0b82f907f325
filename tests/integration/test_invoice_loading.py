"""Loading an operator's file into the store: upserts that never resurrect or alter a paid or held invoice."""

from epay.invoices import InvoiceStatus
from epay.lookup import criteria_from
from epay.ports import UpsertOutcome
from epay.schemas import SearchRequest
from epay_local.loader import load_invoices
from tests.support.factories import an_invoice, put_hold

NOW = 1_795_000_000


def listed(store, code):
    criteria = criteria_from(SearchRequest(subscription_code=code))
    return store.read_unpaid(criteria, None, 100).invoices


def test_a_new_invoice_is_written_and_listed(store):
    invoice = an_invoice("AB12")
    assert store.upsert_invoice(invoice, NOW) is UpsertOutcome.WRITTEN
    assert [i.invoice_id for i in listed(store, "AB12")] == [invoice.invoice_id]


def test_reloading_an_unpaid_invoice_updates_it_in_place(store):
    original = an_invoice("AB12", number="F-1", amount="100.00")
    store.upsert_invoice(original, NOW)
    store.upsert_invoice(an_invoice("AB12", number="F-1", amount="150.00", description="corrigée"), NOW)
    (stored,) = listed(store, "AB12")
    assert stored.invoice_id == original.invoice_id
    assert str(stored.amount) == "150.00"
    assert stored.description == "corrigée"


def test_a_paid_invoice_is_never_resurrected_or_altered(store):
    store.upsert_invoice(an_invoice("AB12", number="F-1", status=InvoiceStatus.PAID, amount="100.00"), NOW)
    outcome = store.upsert_invoice(an_invoice("AB12", number="F-1", amount="999.00"), NOW)
    assert outcome is UpsertOutcome.KEPT_PAID
    assert listed(store, "AB12") == []
    stored = store.get_invoice(an_invoice("AB12", number="F-1").invoice_id)
    assert stored.status is InvoiceStatus.PAID
    assert str(stored.amount) == "100.00"


def test_an_invoice_held_by_a_live_payment_is_left_alone(store, dynamodb):
    invoice = an_invoice("AB12", number="F-1", amount="100.00")
    store.upsert_invoice(invoice, NOW)
    put_hold(dynamodb, "epay-test", invoice.invoice_id, "pay-1", NOW + 600)
    outcome = store.upsert_invoice(an_invoice("AB12", number="F-1", amount="200.00"), NOW)
    assert outcome is UpsertOutcome.KEPT_HELD
    assert str(store.get_invoice(invoice.invoice_id).amount) == "100.00"


def test_an_expired_hold_does_not_block_a_reload(store, dynamodb):
    invoice = an_invoice("AB12", number="F-1", amount="100.00")
    store.upsert_invoice(invoice, NOW)
    put_hold(dynamodb, "epay-test", invoice.invoice_id, "pay-1", NOW - 1)
    assert store.upsert_invoice(an_invoice("AB12", number="F-1", amount="200.00"), NOW) is UpsertOutcome.WRITTEN


def test_loading_a_paid_line_takes_the_invoice_out_of_the_listing(store):
    store.upsert_invoice(an_invoice("AB12", number="F-1"), NOW)
    store.upsert_invoice(an_invoice("AB12", number="F-1", status=InvoiceStatus.PAID), NOW)
    assert listed(store, "AB12") == []


def test_load_reports_each_outcome(store):
    paid = an_invoice("AB12", number="P-1", status=InvoiceStatus.PAID)
    store.upsert_invoice(paid, NOW)
    outcomes = load_invoices(store, [an_invoice("AB12", number="P-1"), an_invoice("AB12")], NOW)
    assert outcomes == {UpsertOutcome.KEPT_PAID: 1, UpsertOutcome.WRITTEN: 1}
