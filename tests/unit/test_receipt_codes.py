"""Receipt codes (operations-api.md §7): 16 Crockford base32 characters, 80 random bits, read back as typed."""

from __future__ import annotations

import re

import pytest

from epay import receipts
from epay.receipts import ALPHABET, LENGTH, grouped, new_receipt_code, normalised

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_the_alphabet_is_crockfords_base32():
    assert ALPHABET == CROCKFORD
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_a_code_is_16_characters_of_the_alphabet():
    for _ in range(1000):
        code = new_receipt_code()
        assert len(code) == LENGTH == 16
        assert re.fullmatch(receipts.PATTERN, code)


def test_a_code_carries_80_random_bits(monkeypatch):
    # Every character is 5 bits of one 80-bit draw from `secrets`: the highest and lowest values show it.
    monkeypatch.setattr(receipts.secrets, "randbits", lambda bits: (1 << bits) - 1)
    assert new_receipt_code() == "Z" * 16
    monkeypatch.setattr(receipts.secrets, "randbits", lambda bits: 1 if bits == 80 else -1)
    assert new_receipt_code() == "0" * 15 + "1"


def test_codes_do_not_repeat():
    drawn = {new_receipt_code() for _ in range(20_000)}
    assert len(drawn) == 20_000


def test_every_character_turns_up_in_every_position():
    # Not a proof of randomness; a generator stuck on part of the alphabet or on a position would fail it.
    codes = [new_receipt_code() for _ in range(3000)]
    for position in range(LENGTH):
        assert {code[position] for code in codes} == set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("0123456789ABCDEF", "0123456789ABCDEF"),
        ("0123-4567-89AB-CDEF", "0123456789ABCDEF"),
        ("0123 4567 89ab cdef", "0123456789ABCDEF"),
        ("O123456789ABCDEF", "0123456789ABCDEF"),  # O read as 0
        ("0I23456789ABCDEF", "0123456789ABCDEF"),  # I read as 1
        ("0l23456789ABCDEF", "0123456789ABCDEF"),  # l read as 1
    ],
)
def test_a_typed_code_reads_as_crockfords_decoding_does(typed, read):
    assert normalised(typed) == read


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0123456789ABCDE",  # 15
        "0123456789ABCDEFG",  # 17
        "0123456789ABCDEU",  # U is not in the alphabet
        "0123456789ABCDE!",
        "0123456789ABCDE\u00e9",
        "0" * 16 + "-" * 17,  # longer than any typed form
        "../../etc/passwd",
    ],
)
def test_what_cannot_be_a_code_is_refused(typed):
    assert normalised(typed) is None


def test_a_receipt_prints_its_code_in_groups_of_four_that_read_back():
    code = new_receipt_code()
    printed = grouped(code)
    assert re.fullmatch(r"(\w{4}-){3}\w{4}", printed)
    assert normalised(printed) == code
