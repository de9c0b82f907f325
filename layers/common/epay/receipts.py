"""Receipt codes: the proof of payment a payer hands to the operator it paid for (operations-api.md §7).

A payment gets its code when it becomes `PAID`, in the settlement transaction itself: 16 characters of Crockford's
base32 (`0-9A-Z` without `I`, `L`, `O`, `U`) drawn from 80 random bits, so a code cannot be guessed (2^80 codes for
the few hundred thousand a year this service issues). The store keeps each code unique (a `RECEIPT#<code>` item
written on condition that none exists); a code already taken makes the settlement draw another.

A person may type a code from a printed receipt: `normalised` reads it as Crockford's decoding does (any case,
`I`/`L` as `1`, `O` as `0`, hyphens and spaces ignored, so the grouped form `XXXX-XXXX-XXXX-XXXX` the receipt prints
reads back). What is not a code after that is refused without reading the store.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
BITS = 5 * LENGTH  # 80 random bits: every character carries 5
PATTERN = f"^[{ALPHABET}]{{{LENGTH}}}$"
# A typed code, before normalisation: at most one separator between characters, a little slack.
MAX_TYPED_LENGTH = 2 * LENGTH

_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_ALPHABET_SET = frozenset(ALPHABET)


def new_receipt_code() -> str:
    """A fresh code: 80 bits from `secrets`, as 16 Crockford base32 characters."""
    value = secrets.randbits(BITS)
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(BITS - 5, -1, -5))


def normalised(typed: str) -> str | None:
    """The code `typed` stands for, or None when it cannot be one (then it is never looked up)."""
    if len(typed) > MAX_TYPED_LENGTH:
        return None
    code = typed.replace("-", "").replace(" ", "").upper().translate(_READ_AS)
    if len(code) != LENGTH or not _ALPHABET_SET.issuperset(code):
        return None
    return code


def grouped(code: str) -> str:
    """`ABCD-EFGH-JKMN-PQRS`: how a receipt prints its code for a person to read and type."""
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


# -- the receipt's e-mail: an outbox entry written with the settlement ------------------------------------------


class MailState(StrEnum):
    """Where the receipt's e-mail of a payment stands (docs/architecture.md, "The receipt's e-mail")."""

    PENDING = "PENDING"  # queued by the settlement, not sent yet
    SENDING = "SENDING"  # claimed by a mailer until `claimed_until`; sent or not, it does not know yet
    SENT = "SENT"  # SES accepted it: never sent again
    FAILED = "FAILED"  # SES refused this message for good (an operator's: docs/operations.md)


@dataclass(frozen=True, slots=True)
class ReceiptMail:
    """The outbox entry of one payment's receipt e-mail, queued on the day (UTC) its payment settled.

    Entries are kept by day so that the unsent ones of a day can be listed without a Scan.
    """

    payment_id: str
    day: str  # YYYY-MM-DD, UTC

    @classmethod
    def queued(cls, payment_id: str, at: int) -> ReceiptMail:
        return cls(payment_id, time.strftime("%Y-%m-%d", time.gmtime(at)))


class Claim(StrEnum):
    """What claiming an outbox entry found."""

    CLAIMED = "CLAIMED"  # ours to send until the lease ends
    DONE = "DONE"  # already sent, or refused for good: nothing to do
    BUSY = "BUSY"  # another mailer holds a live lease: try again after it
    UNKNOWN = "UNKNOWN"  # no such entry (never queued)
