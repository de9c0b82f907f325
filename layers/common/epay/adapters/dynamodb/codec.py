"""DynamoDB's typed attribute values for the few types this service stores, both ways, exactly.

The service stores strings, whole numbers (centimes, epoch seconds, counts), booleans, and maps and lists of them.
boto3's `TypeSerializer`/`TypeDeserializer` handle every type DynamoDB has, through `Decimal` contexts, at several
times the CPU of a request's own work; this codec writes the same typed form for the types we use and refuses any
other (a float never reaches the table; a stored number with a fraction is refused, never rounded).
`tests/unit/adapters/test_codec.py` holds it to boto3's serializer, type by type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Attribute = dict[str, Any]


def to_attribute(value: object) -> Attribute:
    """`value` in DynamoDB's typed form."""
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(name): to_attribute(element) for name, element in value.items()}}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return {"L": [to_attribute(element) for element in value]}
    raise TypeError(f"{type(value).__name__} is not stored by this service")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    """The Python value of a typed attribute: `str`, `int`, `bool`, `None`, `dict` or `list`."""
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return _whole(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {name: from_attribute(element) for name, element in value.items()}
    if kind == "L":
        return [from_attribute(element) for element in value]
    raise TypeError(f"attributes of type {kind} are not stored by this service")


def _whole(text: str) -> int:
    """A stored number, which must be whole: `12`, `-3`, `1.0E+2`… exactly; `1.5` is refused."""
    try:
        return int(text)
    except ValueError:
        from decimal import Decimal, InvalidOperation  # only numbers written by another writer get here

        try:
            number = Decimal(text)
        except InvalidOperation as error:
            raise TypeError(f"{text!r} is not a number") from error
        if not number.is_finite() or number != number.to_integral_value():
            raise TypeError(f"{text!r} is not a whole number") from None
        return int(number)
