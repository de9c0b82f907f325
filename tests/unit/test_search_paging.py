"""Paging through unpaid invoices: contract order, every match exactly once, never an empty page with a cursor."""

from datetime import date

import pytest

from epay.invoices import Hold, InvoiceStatus, SearchCriteria, find_unpaid
from epay.money import Money
from tests.support.factories import an_invoice, many_invoices
from tests.support.fakes import InMemoryInvoices


def walk(reader, criteria, size=10):
    pages, after = [], None
    while True:
        page = find_unpaid(reader, criteria, after, size)
        pages.append(page.invoices)
        if page.last is None:
            return pages
        after = page.last


def test_pages_follow_issuer_then_date_then_number():
    reader = InMemoryInvoices(many_invoices("MAR1", 35))
    pages = walk(reader, SearchCriteria("MAR1"))
    listed = [invoice for page in pages for invoice in page]
    assert [i.position for i in listed] == sorted(i.position for i in reader.invoices)
    assert len({i.invoice_id for i in listed}) == 35


def test_every_page_but_the_last_is_full_and_the_last_is_not_empty():
    pages = walk(InMemoryInvoices(many_invoices("MAR1", 30)), SearchCriteria("MAR1"))
    assert [len(page) for page in pages] == [10, 10, 10]


def test_an_unfiltered_page_is_one_read_of_one_more_than_the_page():
    reader = InMemoryInvoices(many_invoices("MAR1", 35))
    find_unpaid(reader, SearchCriteria("MAR1"), None, 10)
    assert reader.reads == [11]


def test_paid_invoices_and_other_codes_never_show():
    paid = an_invoice("MAR1", status=InvoiceStatus.PAID)
    other = an_invoice("ZZ99")
    reader = InMemoryInvoices([*many_invoices("MAR1", 5), paid, other])
    listed = [i for page in walk(reader, SearchCriteria("MAR1")) for i in page]
    assert paid.invoice_id not in {i.invoice_id for i in listed}
    assert other.invoice_id not in {i.invoice_id for i in listed}
    assert len(listed) == 5


def test_an_empty_result_is_one_empty_page_without_cursor():
    page = find_unpaid(InMemoryInvoices([]), SearchCriteria("NUL0"), None, 10)
    assert page.invoices == []
    assert page.last is None


FILTERS = {
    "issuer": SearchCriteria("MAR1", issuer="MARSA"),
    "dates": SearchCriteria("MAR1", issued_from=date(2026, 3, 1), issued_to=date(2026, 6, 30)),
    "issuer and dates": SearchCriteria("MAR1", issuer="TMSA", issued_from=date(2026, 2, 1)),
    "amounts": SearchCriteria("MAR1", min_amount=Money.parse("1000.00"), max_amount=Money.parse("5000.00")),
    "text": SearchCriteria("MAR1", text="CONTENEURS"),
    "invoice number": SearchCriteria("MAR1", invoice_number="N-00017"),
    "all together": SearchCriteria(
        "MAR1",
        issuer="ANP",
        issued_from=date(2026, 1, 1),
        issued_to=date(2026, 12, 31),
        min_amount=Money.parse("100.00"),
        text="escale",
    ),
}


@pytest.mark.parametrize("criteria", FILTERS.values(), ids=FILTERS.keys())
@pytest.mark.parametrize("size", [1, 3, 10])
def test_filtered_walks_return_each_match_once_in_order_with_no_empty_page(criteria, size):
    reader = InMemoryInvoices(many_invoices("MAR1", 120))
    expected = sorted((i for i in reader.invoices if criteria.matches(i)), key=lambda i: i.position)
    pages = walk(reader, criteria, size)
    listed = [i for page in pages for i in page]
    assert [i.invoice_id for i in listed] == [i.invoice_id for i in expected]
    assert all(pages[:-1])
    assert pages[-1] or len(pages) == 1


def test_filters_are_inclusive_at_both_bounds():
    exact = an_invoice("AB12", issued=date(2026, 3, 1), amount="100.00")
    criteria = SearchCriteria(
        "AB12",
        issued_from=date(2026, 3, 1),
        issued_to=date(2026, 3, 1),
        min_amount=Money.parse("100.00"),
        max_amount=Money.parse("100.00"),
    )
    assert criteria.matches(exact)


def test_text_filter_is_a_case_insensitive_substring_of_number_or_description():
    invoice = an_invoice("AB12", number="ESC-2026-7", description="Manutention Conteneurs")
    assert SearchCriteria("AB12", text="esc-2026").matches(invoice)
    assert SearchCriteria("AB12", text="CONTENEURS").matches(invoice)
    assert not SearchCriteria("AB12", text="vrac").matches(invoice)


def test_a_held_invoice_is_still_listed():
    held = an_invoice("AB12", hold=Hold("pay-1", expires_at=2_000_000_000))
    page = find_unpaid(InMemoryInvoices([held]), SearchCriteria("AB12"), None, 10)
    assert page.invoices == [held]
