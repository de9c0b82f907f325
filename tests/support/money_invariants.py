"""The invariants of the money, read from the stored items: shared by the state machines of tests/properties/.

Each check takes what the main table holds (`stored`: every payment and invoice, read in one consistent Scan, and
what a search lists) and raises `AssertionError` naming what broke:
1. an invoice is paid at most once, by exactly one payment, and that payment is `PAID`;
2. a paid invoice is never held and never listed;
3. every payment's amount is the exact sum of its invoices as they were when it was created;
4. a paid invoice's amount is the amount its payment paid for it;
5. no invoice is held by two live payments, and a live payment holds each of its invoices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from epay.adapters.dynamodb.items import invoice_from_item, payment_from_item, unapplied_from_item
from epay.invoices import Invoice, InvoiceStatus
from epay.lookup import criteria_from
from epay.money import Money, total
from epay.payments import LIVE, Payment, PaymentStatus, UnappliedFunds
from epay.schemas import SearchRequest


@dataclass(frozen=True)
class Stored:
    """Every payment and invoice of the main table, the unapplied funds recorded beside each payment, and the
    invoice ids a search for `code` lists."""

    payments: list[Payment]
    invoices: list[Invoice]
    listed: set[str] | None  # None: not read
    unapplied: dict[str, list[UnappliedFunds]]

    def payment(self, payment_id: str) -> Payment:
        (found,) = [payment for payment in self.payments if payment.payment_id == payment_id]
        return found


def stored(client: Any, table: str, invoice_store: Any, code: str, *, listing: bool = True) -> Stored:
    """Read once per step: one consistent Scan of the (small) test table, and one search (unless `listing` is
    False: then `listed` is empty and the listing is not checked)."""
    items = client.scan(
        TableName=table,
        ConsistentRead=True,
        # Evidence, events and references are left out: they are most of the table and no invariant reads them.
        FilterExpression="sk IN (:payment, :invoice) OR begins_with(sk, :unapplied)",
        ExpressionAttributeValues={
            ":payment": {"S": "PAYMENT"},
            ":invoice": {"S": "INVOICE"},
            ":unapplied": {"S": "UNAPPLIED#"},
        },
    )["Items"]
    return from_items(items, listed_ids(invoice_store, code) if listing else None)


def stored_in_moto(table: str, invoice_store: Any, code: str, *, listing: bool = True) -> Stored:
    """The same, read from moto's own table (no request: moto's response serialisation is most of a Scan's time,
    and a machine reads after every step). The items are those a Scan returns, in the same typed form."""
    items = [item.to_json()["Attributes"] for item in moto_table(table, invoice_store.client).all_items()]
    return from_items(items, listed_ids(invoice_store, code) if listing else None)


def moto_table(table: str, client: Any) -> Any:
    """moto's in-memory table behind `client` (read between requests only)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][client.meta.region_name].get_table(table)


def from_items(items: list[dict[str, Any]], listed: set[str] | None) -> Stored:
    payments = [payment_from_item(item) for item in items if item["sk"]["S"] == "PAYMENT"]
    invoices = [invoice_from_item(item) for item in items if item["sk"]["S"] == "INVOICE"]
    unapplied: dict[str, list[UnappliedFunds]] = {}
    for item in items:
        if item["sk"]["S"].startswith("UNAPPLIED#"):
            payment_id = item["pk"]["S"].removeprefix("PAYMENT#")
            unapplied.setdefault(payment_id, []).append(unapplied_from_item(item))
    return Stored(payments, invoices, listed, unapplied)


def listed_ids(invoice_store: Any, code: str) -> set[str]:
    criteria = criteria_from(SearchRequest(subscription_code=code))
    return {invoice.invoice_id for invoice in invoice_store.read_unpaid(criteria, None, 100).invoices}


def check_all(found: Stored, amounts_at_creation: Mapping[str, Mapping[str, Money]], now: int) -> None:
    an_invoice_is_paid_at_most_once(found.payments, found.invoices)
    a_paid_invoice_is_never_held_or_listed(found.invoices, found.listed)
    a_payment_amounts_to_its_invoices(found.payments, amounts_at_creation)
    a_paid_invoice_costs_what_its_payment_paid(found.payments, found.invoices)
    no_invoice_is_held_by_two_live_payments(found.payments, found.invoices, now)


def an_invoice_is_paid_at_most_once(payments: list[Payment], invoices: list[Invoice]) -> None:
    paid_lines = [line.invoice_id for p in payments if p.status is PaymentStatus.PAID for line in p.lines]
    assert len(paid_lines) == len(set(paid_lines)), "two PAID payments paid one invoice"
    paid_by = {p.payment_id for p in payments if p.status is PaymentStatus.PAID}
    for invoice in invoices:
        if invoice.status is InvoiceStatus.PAID:
            assert invoice.paid_by in paid_by, f"{invoice.invoice_id} is paid by a payment that is not PAID"


def a_paid_invoice_is_never_held_or_listed(invoices: list[Invoice], listed: set[str] | None) -> None:
    for invoice in invoices:
        if invoice.status is InvoiceStatus.PAID:
            assert invoice.hold is None
            assert listed is None or invoice.invoice_id not in listed


def a_payment_amounts_to_its_invoices(
    payments: list[Payment], amounts_at_creation: Mapping[str, Mapping[str, Money]]
) -> None:
    for payment in payments:
        assert payment.amount == total([line.amount for line in payment.lines])
        at_creation = amounts_at_creation[payment.payment_id]
        assert all(line.amount == at_creation[line.invoice_id] for line in payment.lines)


def a_paid_invoice_costs_what_its_payment_paid(payments: list[Payment], invoices: list[Invoice]) -> None:
    paid_for = {(p.payment_id, line.invoice_id): line.amount for p in payments for line in p.lines}
    for invoice in invoices:
        if invoice.status is InvoiceStatus.PAID:
            assert invoice.amount == paid_for[(invoice.paid_by, invoice.invoice_id)]


def no_invoice_is_held_by_two_live_payments(payments: list[Payment], invoices: list[Invoice], now: int) -> None:
    live = [p for p in payments if p.status_at(now) in LIVE]
    claimed = [invoice_id for p in live for invoice_id in p.invoice_ids]
    assert len(claimed) == len(set(claimed)), "two live payments claim one invoice"
    holders = {i.invoice_id: i.hold.payment_id for i in invoices if i.live_hold(now)}
    for payment in live:
        for invoice_id in payment.invoice_ids:
            assert holders.get(invoice_id) == payment.payment_id
