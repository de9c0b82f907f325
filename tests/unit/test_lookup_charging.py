"""Outside review (issue 9, item 8): a lookup is charged to the caller's budgets before it reads any invoice.

A refused lookup reads nothing, so a flood of refused requests costs no invoice read; a first page that finds nothing
is recorded as a miss after its read; and past the miss budget the refusal comes before the read, identical for a
code with unpaid invoices and a code without (no oracle).
"""

import pytest

from epay.cursor import CursorCodec
from epay.errors import DomainError
from epay.lookup import InvoiceLookup
from epay.ratelimit import RateLimiter
from epay.schemas import SearchRequest
from tests.support.factories import an_invoice, many_invoices
from tests.support.fakes import CountingHits, InMemoryInvoices

NOW = 1_795_773_600
ADDRESS = "192.0.2.1"
KEY = b"test-key-0123456789abcdef0123456789"


def lookup(invoices=(), limit=100, miss_limit=None):
    reader = InMemoryInvoices(list(invoices))
    counter = CountingHits()
    limiter = RateLimiter(counter, "lookup", limit, KEY, miss_limit=miss_limit)
    return InvoiceLookup(reader, CursorCodec(KEY, 1800), limiter), reader, counter


def search(service, code="AB12", **fields):
    return service.search(SearchRequest(subscription_code=code, **fields), ADDRESS, NOW)


def refused(service, code="AB12", **fields):
    with pytest.raises(DomainError) as refusal:
        search(service, code, **fields)
    assert refusal.value.status == 429
    return refusal.value


def counts(counter):
    (fields,) = counter.counts.values()
    return fields


def test_a_lookup_refused_by_the_minute_limit_reads_no_invoice():
    service, reader, _ = lookup([an_invoice("AB12")], limit=1)
    search(service)
    reads_before = list(reader.reads)
    refused(service)
    assert reader.reads == reads_before


@pytest.mark.parametrize("code", ["AB12", "ZZ99"], ids=["a code with unpaid invoices", "an unknown code"])
def test_past_the_miss_budget_a_lookup_is_refused_before_any_read_whatever_the_code(code):
    service, reader, _ = lookup([an_invoice("AB12")], miss_limit=2)
    search(service, "ZZ91")
    search(service, "ZZ92")
    reads_before = list(reader.reads)
    refusal = refused(service, code)
    assert reader.reads == reads_before
    assert refusal.headers["Retry-After"] == "3600"


def test_a_first_page_that_finds_nothing_is_one_miss_recorded_after_its_read():
    service, reader, counter = lookup(miss_limit=5)
    assert search(service, "ZZ99").items == []
    assert len(reader.reads) == 1
    assert counts(counter) == {"m0": 1, "misses": 1}


def test_a_lookup_that_finds_invoices_records_no_miss():
    service, _, counter = lookup([an_invoice("AB12")], miss_limit=5)
    assert len(search(service).items) == 1
    assert counts(counter) == {"m0": 1}


def test_following_a_cursor_is_charged_but_is_never_a_miss():
    service, _, counter = lookup(many_invoices("AB12", 12), miss_limit=5)
    first = search(service)
    search(service, cursor=first.next_cursor)
    assert counts(counter) == {"m0": 2}


def test_a_forged_cursor_is_charged_like_any_lookup():
    service, reader, counter = lookup([an_invoice("AB12")], miss_limit=5)
    with pytest.raises(DomainError) as refusal:
        search(service, cursor="forged.cursor")
    assert refusal.value.code == "INVALID_CURSOR"
    assert counts(counter) == {"m0": 1}
    assert reader.reads == []
