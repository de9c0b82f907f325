"""The lookup challenge (api.md §8): an ALTCHA proof of work that buys a fresh miss budget instead of a wait.

Past its miss budget an address's lookups answer `429 CHALLENGE_REQUIRED` with a challenge made by ALTCHA's Python
library (`altcha`, its v1 proof of work: `algorithm`, `challenge`, `maxNumber`, `salt`, `signature`). The solver
looks for the number `n <= maxNumber` with `SHA-256(salt + n) == challenge`: on average `maxNumber / 2` hashes.
The salt carries the challenge's expiry (`expires`, Unix seconds), covered by the signature (an HMAC keyed by
`EPAY_CHALLENGE_SECRET`, a Secrets Manager secret).

A proof (the base64 ALTCHA payload the page sends back as `proof`) is redeemed once: a valid, unexpired proof is
recorded by a conditional put keyed by a digest of its challenge (`ProofLedger.claim_once`, in the rate-limit table,
expiring by TTL once the challenge has expired); a second use finds the record and counts as no proof at all.
What a redeemed proof grants is the limiter's business (`RateLimiter.misses_per_proof`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

if TYPE_CHECKING:
    from altcha.v1 import Payload

# ALTCHA's v1 proof of work (the contract's `algorithm`, `challenge`, `salt`, `signature`, `maxNumber`) comes from its
# module `altcha.v1` (the package's top level re-exports it under `_v1` names mypy does not see as exported). It is
# imported on first use: importing the package costs about 35 ms of CPU (its v2 module), which a cold start of the
# lookup should not pay for the rare challenged request.

ALGORITHM: Final[Literal["SHA-256"]] = "SHA-256"
PROOF_PREFIX = "proof#"
MAX_PROOF_CHARS = 2048
"""A proof is a few hundred characters; anything longer is not one (and is not decoded)."""


class ProofLedger(Protocol):
    def claim_once(self, key: str, expires_at: int) -> bool:  # pragma: no cover
        """Record `key` unless it is already recorded; True when this call recorded it. Records expire by TTL."""


@dataclass(frozen=True)
class LookupChallenge:
    """Issues lookup challenges and redeems their proofs, each once."""

    key: bytes
    ledger: ProofLedger
    max_number: int
    """`maxNumber` of an address's first challenge in an hour; each proof it redeemed since doubles the next one's."""
    ttl_seconds: int = 600
    ceiling: int = 10_000_000
    """No challenge's `maxNumber` goes beyond it (a phone's minutes: a payer is slowed down, never locked out)."""

    def size(self, proofs: int) -> int:
        """`maxNumber` of the challenge after `proofs` proofs redeemed by the address this hour."""
        return min(self.max_number << min(proofs, 40), max(self.ceiling, self.max_number))

    def issue(self, now: int, proofs: int = 0) -> dict[str, Any]:
        """A fresh challenge, as ALTCHA's library makes it, expiring `ttl_seconds` from `now`; `proofs`: those the
        address redeemed this hour (docs/reliability.md, "The lookup challenge": why it doubles)."""
        from altcha.v1 import ChallengeOptions, create_challenge

        expires = datetime.datetime.fromtimestamp(now + self.ttl_seconds, tz=datetime.UTC)
        made = create_challenge(
            ChallengeOptions(algorithm=ALGORITHM, max_number=self.size(proofs), hmac_key=self.key, expires=expires)
        )
        return dict(made.to_dict())

    def redeem(self, proof: str, now: int) -> bool:
        """True for a valid, unexpired proof of one of our challenges used for the first time; False otherwise
        (forged, corrupted, expired, of another key, or already used)."""
        payload = _payload(proof)
        if payload is None or payload.algorithm != ALGORITHM:
            return False
        expires = _expiry(payload.salt)
        if expires is None or expires < now:
            return False
        from altcha.v1 import verify_solution

        verified, _ = verify_solution(payload, self.key, check_expires=False)
        if not verified:
            return False
        digest = hashlib.sha256(payload.challenge.encode()).hexdigest()
        return self.ledger.claim_once(PROOF_PREFIX + digest, expires + 60)


def _payload(proof: str) -> Payload | None:
    if len(proof) > MAX_PROOF_CHARS:
        return None
    try:
        decoded = json.loads(base64.b64decode(proof, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(decoded, dict):
        return None
    fields = ("algorithm", "challenge", "salt", "signature")
    if not all(isinstance(decoded.get(name), str) for name in fields):
        return None
    number = decoded.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        return None
    from altcha.v1 import Payload

    return (
        Payload(ALGORITHM, decoded["challenge"], number, decoded["salt"], decoded["signature"])
        if decoded["algorithm"] == ALGORITHM
        else None
    )


def _expiry(salt: str) -> int | None:
    """The salt's single `expires` parameter; None when it has none, several, or a malformed one."""
    _, _, query = salt.partition("?")
    values = urllib.parse.parse_qs(query).get("expires", [])
    if len(values) != 1 or not values[0].isdigit():
        return None
    return int(values[0])
