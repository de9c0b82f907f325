"""The offline attack of issue 9, item 4: try subscription codes against an exposed invoice id.

Before issue 9 an invoice id was an unkeyed SHA-256 of `code|issuer|number`. Whoever saw an id beside its issuer
and number (a payment view, a cursor) tried the 36**4 codes and got the code back in under a second.

Bounded in time: by default the codes tried are the 1,296 that share the real code's last two characters (the real
code among them). That answers the only question that matters — does the search find the real code? — exactly as
the whole space would; the other codes could only be false matches of a 160-bit digest.
`EPAY_ATTACK_FULL_SEARCH=1` tries all 1,679,616 codes (about a second per exposed id).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import string

ALPHABET = string.ascii_uppercase + string.digits


def candidate_codes(real_code: str) -> list[str]:
    """The codes the attack tries (see above): always including `real_code`."""
    if os.environ.get("EPAY_ATTACK_FULL_SEARCH") == "1":
        return ["".join(chars) for chars in itertools.product(ALPHABET, repeat=4)]
    return [first + second + real_code[2:] for first in ALPHABET for second in ALPHABET]


def codes_reproducing(invoice_id: str, issuer: str, number: str, candidates: list[str]) -> set[str]:
    """Every candidate code whose unkeyed SHA-256 id (the pre-issue-9 formula) is the exposed id."""
    target = base64.b32decode(invoice_id.removeprefix("inv-").upper())
    suffix = f"|{issuer}|{number}".encode()
    return {code for code in candidates if hashlib.sha256(code.encode() + suffix).digest()[:20] == target}
