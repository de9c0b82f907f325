"""web/js/contract.js: the page's patterns, gateways, methods and maxima are the OpenAPI document's, never retyped."""

from __future__ import annotations

import copy
import json
import re

import pytest

from epay.payments import is_payment_id, new_payment_id
from epay.schemas import PAYMENT_ID_PATTERN
from epay_local.openapi_build import DOCUMENT_PATH
from epay_local.web_contract import CONTRACT_PATH, ContractError, build_contract, js_pattern, render_contract

pytestmark = pytest.mark.infrastructure

DOCUMENT = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def test_the_committed_page_contract_matches_the_openapi_document():
    assert CONTRACT_PATH.read_text(encoding="utf-8") == render_contract(DOCUMENT), (
        "run `make openapi` and commit web/js/contract.js"
    )


def test_the_page_offers_each_gateway_the_methods_the_api_accepts_from_it():
    contract = build_contract(DOCUMENT)
    assert contract["gateways"] == ["CMI", "M2T"]
    assert contract["methods"] == {"CMI": ["CARD", "FATOURATI"], "M2T": ["CARD", "TASHILAT", "DIRECT_DEBIT"]}


def test_the_page_knows_every_payment_status_and_every_way_money_is_returned():
    contract = build_contract(DOCUMENT)
    assert contract["paymentStatuses"][-2:] == ["NEEDS_REVIEW", "REVERSED"]
    assert contract["reversalActions"] == ["VOID", "REFUND", "MANUAL"]


def test_a_reversal_that_is_not_a_component_schema_is_refused():
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["PaymentView"]["properties"]["reversal"] = {"type": "object"}
    with pytest.raises(ContractError, match="component schema"):
        build_contract(document)


def test_the_page_knows_the_maxima_of_the_requests():
    limits = build_contract(DOCUMENT)["limits"]
    assert limits["invoicesPerPayment"] == 50
    assert (limits["pageSizeMin"], limits["pageSizeMax"]) == (1, 50)


def test_the_documented_payment_id_is_the_shape_the_service_mints_and_accepts():
    assert re.fullmatch(PAYMENT_ID_PATTERN, new_payment_id())
    for text in ("PAY-ABC", "a" * 64, "", "a" * 65, "PAY_1", "PAY 1", "PAY-1\n"):
        # fullmatch: Python's `$` alone would accept a final newline, which JavaScript and pydantic refuse.
        assert bool(re.fullmatch(PAYMENT_ID_PATTERN, text)) == is_payment_id(text), text
    assert build_contract(DOCUMENT)["patterns"]["paymentId"] == PAYMENT_ID_PATTERN


def test_a_gateway_missing_from_the_method_rules_is_refused():
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["PaymentRequest"]["properties"]["gateway"]["enum"].append("NEW")
    with pytest.raises(ContractError, match="gateways"):
        build_contract(document)


def test_a_field_the_page_needs_missing_from_the_document_is_named():
    document = copy.deepcopy(DOCUMENT)
    del document["components"]["schemas"]["PayerIn"]["properties"]["phone"]
    with pytest.raises(ContractError, match="PayerIn/properties/phone"):
        build_contract(document)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[A-Za-z0-9]{4}$",
        r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$",
        r"^(0|[1-9][0-9]{0,11})\.[0-9]{2}$",
        r"^\+?[0-9][0-9 .-]{5,19}$",
        r"^[^\x00-\x1f\x7f-\x9f]*$",
        r"^[a\-z]+(?:\.[a-z]+)*$",
        r"^(?!x)\u00e9+$",
    ],
)
def test_patterns_javascript_reads_like_python_are_copied_unchanged(pattern):
    assert js_pattern(pattern) == pattern


def test_white_space_is_written_out_as_the_apis_validator_reads_it():
    # JavaScript's \s adds U+FEFF and lacks U+0085; pydantic's Rust engine uses Unicode White_Space.
    white_space = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    assert js_pattern(r"^[^@\s]+@\s?$") == rf"^[^@{white_space}]+@[{white_space}]?$"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"^\d{4}$", "ASCII digits in JavaScript"),
        (r"^\w+$", "ASCII in JavaScript"),
        (r"\bx\b", r"\\b follows"),
        (r"\Aabc\Z", r"\\A is not JavaScript"),
        (r"^(?i)abc$", "groups read alike"),
        (r"^(?P<code>[A-Z]{4})$", "groups read alike"),
        (r"^a{,3}$", "is not JavaScript"),
        (r"^\U0001F600$", "is not JavaScript"),
        (r"^\_$", "not an escape JavaScript reads like Python"),
        (r"^a\-b$", "not an escape JavaScript reads like Python"),
        (r"^\x4$", "hexadecimal digits"),
        (r"^[]a]$", "leading ']'"),
        (r"^[a-z$", "unterminated class"),
        ("^a\\", "lone backslash"),
    ],
)
def test_patterns_javascript_would_read_differently_are_refused(pattern, reason):
    with pytest.raises(ContractError, match=reason):
        js_pattern(pattern)
