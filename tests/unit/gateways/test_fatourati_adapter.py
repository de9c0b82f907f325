"""FATOURATI: 12-digit references with a Luhn check digit, the bank channel's signed requests, and the answers."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from epay.gateways.common import sign_body
from epay.gateways.fatourati import (
    ALREADY_APPLIED,
    AMOUNT_MISMATCH,
    APPLIED,
    BAD_SIGNATURE,
    GONE,
    UNKNOWN,
    InvalidRequest,
    inquiry_answer,
    is_valid_reference,
    new_reference,
    parse_confirm,
    parse_inquiry,
    verify_request,
)
from epay.money import Money

SECRET = b"fatourati-test-secret"
eleven_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)


def a_confirmation(**changes):
    confirmation = {
        "reference": "079927398713",
        "transaction_id": "BMCE-20260115-000042",
        "amount": "2500.00",
        "currency": "MAD",
        "channel": "E-BANKING",
        "paid_at": "2026-01-15T10:15:30Z",
    }
    return json.dumps(confirmation | changes).encode("utf-8")


@pytest.mark.parametrize(
    ("random_digits", "reference"),
    [
        ("07992739871", "079927398713"),  # the classic Luhn example 79927398713, zero-padded
        ("00000000000", "000000000000"),
        ("12345678901", "123456789015"),
        ("99999999999", "999999999991"),
        ("40128888888", "401288888886"),
    ],
)
def test_reference_ends_with_the_luhn_check_digit(random_digits, reference):
    assert new_reference(random_digits) == reference


@given(eleven_digits)
def test_every_new_reference_is_twelve_digits_and_valid(random_digits):
    reference = new_reference(random_digits)

    assert len(reference) == 12
    assert is_valid_reference(reference)


@given(eleven_digits, st.integers(min_value=0, max_value=11), st.integers(min_value=1, max_value=9))
def test_a_single_mistyped_digit_makes_a_reference_invalid(random_digits, position, shift):
    reference = new_reference(random_digits)
    mistyped = reference[:position] + str((int(reference[position]) + shift) % 10) + reference[position + 1 :]

    assert not is_valid_reference(mistyped)


@pytest.mark.parametrize("random_digits", ["0799273987", "079927398712", "0799273987a", "\uff10" * 11, ""])
def test_new_reference_needs_exactly_eleven_ascii_digits(random_digits):
    with pytest.raises(ValueError, match="11 random digits"):
        new_reference(random_digits)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("07992739871", id="11-digits"),
        pytest.param("0799273987130", id="13-digits"),
        pytest.param("07992739871a", id="letter"),
        pytest.param("079927398714", id="bad-check-digit"),
        pytest.param("079927398713\n", id="trailing-newline"),
        pytest.param(" 079927398713", id="leading-space"),
        pytest.param("٠٧٩٩٢٧٣٩٨٧١٣", id="arabic-indic-digits"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_reference_is_invalid(text):
    assert not is_valid_reference(text)


def test_inquiry_is_parsed():
    assert parse_inquiry(b'{"reference": "079927398713"}').reference == "079927398713"


@pytest.mark.parametrize("body", [b"{", b"{}", b'{"reference": 79927398713}', b'{"reference": "\xff"}'], ids=repr)
def test_inquiry_off_the_contract_is_rejected(body):
    with pytest.raises(InvalidRequest):
        parse_inquiry(body)


def test_confirmation_is_parsed():
    confirmation = parse_confirm(a_confirmation())

    assert (confirmation.reference, confirmation.transaction_id) == ("079927398713", "BMCE-20260115-000042")
    assert (confirmation.money, confirmation.currency) == (Money.parse("2500.00"), "MAD")
    assert (confirmation.channel, confirmation.paid_at) == ("E-BANKING", "2026-01-15T10:15:30Z")


def test_confirmation_fields_the_channel_may_add_are_ignored():
    confirmation = parse_confirm(a_confirmation(branch="Casablanca"))

    assert not hasattr(confirmation, "branch")


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "GUICHET"},
        {"amount": "2500"},
        {"amount": 2500.0},
        {"transaction_id": ""},
        {"transaction_id": "T" * 129},
        {"paid_at": None},
        {"currency": None},
    ],
    ids=repr,
)
def test_confirmation_off_the_contract_is_rejected(change):
    with pytest.raises(InvalidRequest):
        parse_confirm(a_confirmation(**change))


def test_request_signed_with_the_fatourati_secret_is_verified():
    body = a_confirmation()

    assert verify_request(sign_body(SECRET, body, 1_768_472_130), body, SECRET, now=1_768_472_130)


def test_request_signed_with_another_secret_is_refused():
    body = a_confirmation()

    assert not verify_request(sign_body(b"other", body, 1_768_472_130), body, SECRET, now=1_768_472_130)


def test_inquiry_answer_lists_what_is_due_invoice_by_invoice():
    answer = inquiry_answer(
        Money.parse("2500.00"),
        "ANP",
        "Agence Nationale des Ports",
        [("F-2026-000123", Money.parse("1250.50")), ("F-2026-000124", Money.parse("1249.50"))],
        "2026-01-18T10:15:30Z",
    )

    assert answer == (
        200,
        {
            "code": "000",
            "amount": "2500.00",
            "currency": "MAD",
            "biller": "PORTNET",
            "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
            "invoices": [
                {"invoice_number": "F-2026-000123", "amount": "1250.50"},
                {"invoice_number": "F-2026-000124", "amount": "1249.50"},
            ],
            "expires_at": "2026-01-18T10:15:30Z",
        },
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (UNKNOWN, (404, {"code": "404"})),
        (GONE, (410, {"code": "410"})),
        (APPLIED, (200, {"code": "000"})),
        (ALREADY_APPLIED, (200, {"code": "301"})),
        (AMOUNT_MISMATCH, (409, {"code": "420"})),
        (BAD_SIGNATURE, (401, {"code": "401"})),
    ],
)
def test_fixed_answers_carry_the_contract_status_and_code(answer, expected):
    assert answer == expected
