"""The DynamoDB codec writes exactly what boto3's serializer writes for every type the service stores, reads it back
exactly, and refuses what must never be stored or read (floats, fractions)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from epay.adapters.dynamodb.codec import from_attribute, to_attribute

VALUES = [
    "",
    "Société Maritime",
    0,
    -3,
    125_050,
    99_999_999_999,
    True,
    False,
    None,
    {"name": "x", "amount": 12, "nested": {"ok": True}},
    [{"invoice_id": "inv-1", "amount": 100}, {"invoice_id": "inv-2", "amount": 2}],
    [],
    {},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_it_writes_what_boto3_writes(value):
    assert to_attribute(value) == TypeSerializer().serialize(value)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_it_reads_back_what_it_wrote(value):
    assert from_attribute(to_attribute(value)) == value


def test_numbers_written_by_boto3_read_back_as_whole_ints():
    assert from_attribute(TypeSerializer().serialize(Decimal("125050"))) == 125_050
    assert from_attribute({"N": "1.0E+2"}) == 100
    assert type(from_attribute({"N": "7"})) is int


@pytest.mark.parametrize("text", ["1.5", "NaN", "Infinity", "abc"])
def test_a_stored_number_that_is_not_whole_is_refused(text):
    with pytest.raises(TypeError):
        from_attribute({"N": text})


def test_a_float_is_never_stored():
    with pytest.raises(TypeError):
        to_attribute(12.5)


def test_types_the_service_does_not_store_are_refused_both_ways():
    with pytest.raises(TypeError):
        from_attribute({"B": b"x"})
    with pytest.raises(TypeError):
        to_attribute(b"x")


def test_what_boto3_reads_and_what_the_codec_reads_agree_on_every_stored_type():
    for value in VALUES:
        typed = TypeSerializer().serialize(value)
        read = TypeDeserializer().deserialize(typed)
        assert from_attribute(typed) == read
