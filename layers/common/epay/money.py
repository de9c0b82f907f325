"""Money as integer centimes of MAD: the only place that parses, formats or adds amounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

CURRENCY = "MAD"
MAX_CENTIMES = 10**14  # what an amount can be written as (12 digits of dirhams): the contract's amount pattern

# The service's own bounds (docs/architecture.md, "Amount bounds"). An invoice is at most 99 999 999.99 MAD and a
# payment holds at most 50 invoices, so a payment is at most 4 999 999 999.50 MAD = 499 999 999 950 centimes:
# 12 digits of centimes, what card networks carry (ISO 8583 field 4) and CMI's form takes; below 2**53, so exact
# even as a JavaScript number on the page; far inside DynamoDB's 38 digits; 13 characters as `amount` text.
MAX_INVOICE_CENTIMES = 99_999_999_99
MAX_INVOICES_PER_PAYMENT = 50
MAX_PAYMENT_CENTIMES = MAX_INVOICE_CENTIMES * MAX_INVOICES_PER_PAYMENT

_CONTRACT_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,11})\.[0-9]{2}$")
_LENIENT_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")


class InvalidAmount(ValueError):
    """A string that is not an amount this service accepts."""


class AmountTooLarge(InvalidAmount):
    """A sum beyond the bound it must respect (a payment's maximum, or what `Money` can hold)."""


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount of MAD held as integer centimes (never a float)."""

    centimes: int
    PATTERN: ClassVar[str] = _CONTRACT_AMOUNT.pattern

    def __post_init__(self) -> None:
        if isinstance(self.centimes, bool) or not isinstance(self.centimes, int):
            raise InvalidAmount("centimes must be an integer")
        if not 0 <= self.centimes < MAX_CENTIMES:
            raise InvalidAmount("amount out of range")

    @classmethod
    def parse(cls, text: str) -> Money:
        """Parse the contract's form: digits, a dot, exactly two decimals (`"1250.50"`)."""
        if not isinstance(text, str) or not _CONTRACT_AMOUNT.fullmatch(text):
            raise InvalidAmount("amount must look like 1250.50")
        units, cents = text.split(".")
        return cls(int(units) * 100 + int(cents))

    @classmethod
    def parse_lenient(cls, text: str) -> Money:
        """Parse an amount echoed by a gateway, which may drop decimals (`"1020"`, `"1020.5"`)."""
        if not isinstance(text, str) or not _LENIENT_AMOUNT.fullmatch(text.strip()):
            raise InvalidAmount("not a decimal amount")
        units, _, cents = text.strip().partition(".")
        return cls(int(units) * 100 + int(cents.ljust(2, "0") or "0"))

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    def __add__(self, other: Money) -> Money:
        return Money(self.centimes + other.centimes)

    def __str__(self) -> str:
        """The contract's form: `1250.50`."""
        return f"{self.centimes // 100}.{self.centimes % 100:02d}"


MAX_INVOICE_AMOUNT = Money(MAX_INVOICE_CENTIMES)
MAX_PAYMENT_AMOUNT = Money(MAX_PAYMENT_CENTIMES)


def total(amounts: list[Money], limit: Money | None = None) -> Money:
    """The exact sum of several amounts; `AmountTooLarge` when it exceeds `limit` or what `Money` can hold."""
    centimes = sum(amount.centimes for amount in amounts)  # Python integers: the sum itself cannot overflow
    if centimes >= MAX_CENTIMES or (limit is not None and centimes > limit.centimes):
        raise AmountTooLarge("sum of amounts beyond its bound")
    return Money(centimes)
