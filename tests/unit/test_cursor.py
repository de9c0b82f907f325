"""Cursors: opaque, signed, expiring, bound to one search; every tampering is refused."""

import base64
import json

import pytest

from epay.cursor import CursorCodec, InvalidCursor
from epay.invoices import Position, SearchCriteria

NOW = 1_795_000_000
CODEC = CursorCodec(b"cursor-key-for-tests", ttl_seconds=600)
SEARCH = SearchCriteria("AB12", issuer="ANP").binding()
POSITION = Position("ANP#2026-01-15#F-2026-000123", "inv-abc")


def mint(position=POSITION, binding=SEARCH, now=NOW, codec=CODEC):
    return codec.encode(position, binding, now)


def test_a_cursor_resumes_where_it_was_minted():
    assert CODEC.decode(mint(), SEARCH, NOW + 1) == POSITION


def test_a_cursor_does_not_reveal_the_subscription_code():
    token = mint()
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert b"AB12" not in payload
    assert "AB12" not in token


def test_a_flipped_byte_anywhere_is_refused():
    token = mint()
    for index in range(len(token)):
        flipped = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        with pytest.raises(InvalidCursor):
            CODEC.decode(flipped, SEARCH, NOW)


def test_a_cursor_for_another_code_is_refused():
    other = SearchCriteria("AB13", issuer="ANP").binding()
    with pytest.raises(InvalidCursor):
        CODEC.decode(mint(), other, NOW)


@pytest.mark.parametrize(
    "other",
    [
        SearchCriteria("AB12"),
        SearchCriteria("AB12", issuer="MARSA"),
        SearchCriteria("AB12", issuer="ANP", text="escale"),
        SearchCriteria("AB12", issuer="ANP", invoice_number="F-1"),
    ],
)
def test_a_cursor_for_other_filters_is_refused(other):
    with pytest.raises(InvalidCursor):
        CODEC.decode(mint(), other.binding(), NOW)


def test_an_expired_cursor_is_refused():
    with pytest.raises(InvalidCursor):
        CODEC.decode(mint(), SEARCH, NOW + 600)


def test_a_cursor_signed_with_another_key_is_refused():
    foreign = mint(codec=CursorCodec(b"another-key", ttl_seconds=600))
    with pytest.raises(InvalidCursor):
        CODEC.decode(foreign, SEARCH, NOW)


def test_a_re_signed_payload_with_a_longer_expiry_is_refused():
    payload = json.loads(base64.urlsafe_b64decode(mint().split(".")[0] + "=="))
    payload["e"] = NOW + 10**6
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode() + "." + mint().split(".")[1]
    with pytest.raises(InvalidCursor):
        CODEC.decode(forged, SEARCH, NOW)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "!!!.???", "x" * 5000, "eyJ2IjoxfQ.", "null.null"])
def test_garbage_is_refused(garbage):
    with pytest.raises(InvalidCursor):
        CODEC.decode(garbage, SEARCH, NOW)
