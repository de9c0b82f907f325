"""The subscription code: the only key a payer has, so it is read strictly (`CODE_PATTERN`: the request models
refuse anything else and upper-case the rest) and never logged in clear."""

from __future__ import annotations

import hashlib
import hmac

CODE_PATTERN = r"^[A-Za-z0-9]{4}$"


def code_fingerprint(code: str, key: bytes) -> str:
    """A keyed, non-reversible tag for logs: lets an operator correlate lines without exposing the code.

    A plain hash would not do: there are only 36**4 codes, so an unkeyed digest is reversed in a second.
    """
    return hmac.new(key, b"log-fingerprint|" + code.encode("ascii"), hashlib.sha256).hexdigest()[:16]
