"""The subscription code: the only key a payer has, so it is normalised strictly and never logged in clear."""

from __future__ import annotations

import hashlib
import hmac
import re

_CODE = re.compile(r"^[A-Za-z0-9]{4}$", re.ASCII)
CODE_PATTERN = _CODE.pattern


class InvalidSubscriptionCode(ValueError):
    """Not exactly four ASCII letters or digits."""


def normalise_subscription_code(raw: object) -> str:
    """Return the code in upper case, or raise: exactly 4 ASCII letters/digits, nothing trimmed or guessed."""
    if not isinstance(raw, str) or not _CODE.fullmatch(raw):
        raise InvalidSubscriptionCode("exactly 4 letters or digits")
    return raw.upper()


def code_fingerprint(code: str, key: bytes) -> str:
    """A keyed, non-reversible tag for logs: lets an operator correlate lines without exposing the code.

    A plain hash would not do: there are only 36**4 codes, so an unkeyed digest is reversed in a second.
    """
    return hmac.new(key, b"log-fingerprint|" + code.encode("ascii"), hashlib.sha256).hexdigest()[:16]
