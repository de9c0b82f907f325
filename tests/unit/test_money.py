"""Money: integer centimes, parsed and formatted exactly as the contract writes amounts."""

import pytest

from epay.money import (
    MAX_INVOICE_AMOUNT,
    MAX_INVOICES_PER_PAYMENT,
    MAX_PAYMENT_AMOUNT,
    AmountTooLarge,
    InvalidAmount,
    Money,
    total,
)


@pytest.mark.parametrize(
    ("text", "centimes"),
    [("0.00", 0), ("0.01", 1), ("1250.50", 125_050), ("999999999999.99", 99_999_999_999_999)],
)
def test_contract_amounts_parse_to_exact_centimes(text, centimes):
    assert Money.parse(text).centimes == centimes


@pytest.mark.parametrize(
    "text",
    [
        "1250",
        "1250.5",
        "1250.505",
        "1.00\n",
        "01.00",
        "-1.00",
        "+1.00",
        "1,250.50",
        "1 250,50",
        " 1.00",
        "1.00 ",
        "",
        "1e3",
        "١٢.٠٠",
        "NaN",
        "Infinity",
    ],
)
def test_anything_but_two_decimals_is_refused(text):
    with pytest.raises(InvalidAmount):
        Money.parse(text)


@pytest.mark.parametrize(("echoed", "centimes"), [("1020", 102_000), ("1020.5", 102_050), ("1020.00", 102_000)])
def test_gateway_echoes_without_decimals_parse_leniently(echoed, centimes):
    assert Money.parse_lenient(echoed).centimes == centimes


def test_lenient_parsing_still_refuses_garbage():
    with pytest.raises(InvalidAmount):
        Money.parse_lenient("10,20")


@pytest.mark.parametrize(("centimes", "text"), [(0, "0.00"), (5, "0.05"), (125_050, "1250.50"), (100, "1.00")])
def test_amounts_format_with_exactly_two_decimals(centimes, text):
    assert str(Money(centimes)) == text


def test_sums_are_exact_where_floats_are_not():
    amounts = [Money.parse("0.10")] * 3
    assert str(total(amounts)) == "0.30"
    assert 0.1 + 0.1 + 0.1 != 0.3


def test_money_refuses_floats_and_negative_values():
    with pytest.raises(InvalidAmount):
        Money(12.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money(-1)


def test_amounts_order_by_value():
    assert Money.parse("99.99") < Money.parse("100.00")


def test_an_invoice_is_at_most_99_999_999_99_mad():
    assert str(MAX_INVOICE_AMOUNT) == "99999999.99"


def test_fifty_of_the_largest_invoices_fit_every_bound_an_amount_meets():
    largest = total([MAX_INVOICE_AMOUNT] * MAX_INVOICES_PER_PAYMENT, limit=MAX_PAYMENT_AMOUNT)
    assert largest == MAX_PAYMENT_AMOUNT
    assert str(largest) == "4999999999.50"
    assert len(str(largest.centimes)) <= 12, "card networks carry 12 digits of centimes (ISO 8583 field 4)"
    assert largest.centimes < 2**53, "exact as a JavaScript number on the page"
    assert Money.parse(str(largest)) == largest, "the contract's amount text reads back the same amount"


def test_a_sum_over_its_limit_is_refused_as_too_large():
    with pytest.raises(AmountTooLarge):
        total([MAX_PAYMENT_AMOUNT, Money(1)], limit=MAX_PAYMENT_AMOUNT)


def test_a_sum_money_cannot_hold_is_refused_as_too_large_not_as_a_bare_error():
    largest_writable = Money.parse("999999999999.99")
    with pytest.raises(AmountTooLarge):
        total([largest_writable, largest_writable])
