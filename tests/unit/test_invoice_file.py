"""`epay load-invoices`: the whole file is validated first and every bad line is reported by number."""

import json

import pytest

from epay.invoices import InvoiceStatus
from epay_local.loader import InvalidInvoiceFile
from tests.support.factories import INVOICE_ID_KEY, invoice_line, parse_invoice_lines

KEY = INVOICE_ID_KEY.encode()


def lines(*records):
    return [record if isinstance(record, bytes) else json.dumps(record).encode() for record in records]


def test_a_valid_file_gives_one_invoice_per_line():
    invoices = parse_invoice_lines(
        lines(invoice_line(), invoice_line(issuer_code="marsa", issuer_name="Marsa Maroc")), KEY
    )
    assert len(invoices) == 2
    assert invoices[1].issuer.code == "MARSA"
    assert all(invoice.status is InvoiceStatus.UNPAID for invoice in invoices)


def test_a_line_may_load_a_settled_invoice():
    (invoice,) = parse_invoice_lines(lines(invoice_line(status="PAID")), KEY)
    assert invoice.status is InvoiceStatus.PAID


def test_blank_lines_are_skipped():
    assert len(parse_invoice_lines([b"", *lines(invoice_line()), b"   "], KEY)) == 1


def test_every_bad_line_is_reported_with_its_number():
    with pytest.raises(InvalidInvoiceFile) as refused:
        parse_invoice_lines(
            lines(
                invoice_line(),
                invoice_line(amount="12.5"),
                b"{not json",
                invoice_line(subscription_code="AB1"),
                b"\xff\xfe",
                b"[1, 2]",
                invoice_line(currency="EUR"),
                invoice_line(unexpected="field"),
                invoice_line(due_date="2026-01-01", issue_date="2026-02-01"),
                invoice_line(amount="0.00"),
                invoice_line(issue_date=None),
            ),
            KEY,
        )
    reported = {problem.line for problem in refused.value.problems}
    assert reported == {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}


def test_a_message_names_the_field_but_never_echoes_the_value():
    with pytest.raises(InvalidInvoiceFile) as refused:
        parse_invoice_lines(lines(invoice_line(subscription_code="SECRET-CODE")), KEY)
    (problem,) = refused.value.problems
    assert "subscription_code" in str(problem)
    assert "SECRET-CODE" not in str(problem)


def test_the_same_invoice_twice_in_a_file_is_refused_on_both_lines():
    duplicate = invoice_line(invoice_number="F-1")
    with pytest.raises(InvalidInvoiceFile) as refused:
        parse_invoice_lines(lines(duplicate, invoice_line(), {**duplicate, "amount": "1.00"}), KEY)
    assert [problem.line for problem in refused.value.problems] == [1, 3]


def test_an_overlong_line_is_refused():
    with pytest.raises(InvalidInvoiceFile):
        parse_invoice_lines(lines(invoice_line(description="x" * 9000)), KEY)


def test_an_invoice_of_up_to_99_999_999_99_mad_loads():
    (invoice,) = parse_invoice_lines(lines(invoice_line(amount="99999999.99")), KEY)
    assert str(invoice.amount) == "99999999.99"


@pytest.mark.parametrize("amount", ["100000000.00", "999999999999.99"])
def test_a_larger_invoice_is_refused_with_the_bound_on_its_line(amount):
    with pytest.raises(InvalidInvoiceFile) as refused:
        parse_invoice_lines(lines(invoice_line(), invoice_line(amount=amount)), KEY)
    (problem,) = refused.value.problems
    assert str(problem) == "line 2: amount: au plus 99999999.99 MAD par facture"


@pytest.mark.parametrize(
    ("line", "reason"),
    [(b"[" * 8000, "JSON nested deeper than 32 levels"), (b"1" * 5000, "JSON number longer than 32 characters")],
)
def test_a_line_too_deep_or_with_a_huge_number_is_a_bad_line_not_a_crash(line, reason):
    with pytest.raises(InvalidInvoiceFile) as refused:
        parse_invoice_lines(lines(invoice_line(), line), KEY)
    assert [str(problem) for problem in refused.value.problems] == [f"line 2: not valid JSON ({reason})"]
