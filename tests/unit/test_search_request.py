"""The search request model: what `POST /v1/invoices/search` accepts, and how it refuses the rest."""

import pytest
from pydantic import ValidationError

from epay.lookup import criteria_from
from epay.money import Money
from epay.schemas import SearchRequest


def request(**fields):
    return SearchRequest.model_validate({"subscription_code": "ab12", **fields})


def test_the_code_is_upper_cased_and_page_size_defaults_to_ten():
    parsed = request()
    assert parsed.subscription_code == "AB12"
    assert parsed.page_size == 10


def test_a_whole_number_written_with_a_decimal_point_is_an_integer_as_in_json_schema():
    assert request(page_size=20.0).page_size == 20


def test_the_contract_example_is_accepted():
    parsed = request(
        invoice_number="F-2026-000123",
        filters={
            "issuer": "anp",
            "issued_from": "2026-01-01",
            "issued_to": "2026-03-31",
            "min_amount": "100.00",
            "max_amount": "5000.00",
            "text": "ESC-2026",
        },
        page_size=10,
        cursor=None,
    )
    criteria = criteria_from(parsed)
    assert criteria.issuer == "ANP"
    assert criteria.min_amount == Money.parse("100.00")


@pytest.mark.parametrize(
    "fields",
    [
        {"page_size": 0},
        {"page_size": 51},
        {"page_size": "10"},
        {"page_size": True},
        {"page_size": 10.5},
        {"filters": {"issued_from": "2026-13-01"}},
        {"filters": {"issued_from": "01/02/2026"}},
        {"filters": {"issued_from": "2026-01-01\n"}},
        {"filters": {"issued_from": 20260101}},
        {"filters": {"issued_from": "2026-03-02", "issued_to": "2026-03-01"}},
        {"filters": {"min_amount": "100"}},
        {"filters": {"min_amount": 100.0}},
        {"filters": {"min_amount": "200.00", "max_amount": "100.00"}},
        {"filters": {"text": ""}},
        {"filters": {"text": "x" * 65}},
        {"filters": {"text": "a\x00b"}},
        {"filters": {"issuer": "A N P"}},
        {"filters": {"unknown": 1}},
        {"filters": "ANP"},
        {"invoice_number": ""},
        {"invoice_number": "F 1"},
        {"cursor": ""},
        {"extra": True},
    ],
)
def test_invalid_fields_are_refused(fields):
    with pytest.raises(ValidationError):
        request(**fields)


@pytest.mark.parametrize("code", ["AB1", "AB123", "AB 1", "AB-1", "ÀB12", 1234, None])
def test_invalid_codes_are_refused(code):
    with pytest.raises(ValidationError):
        SearchRequest.model_validate({"subscription_code": code})
