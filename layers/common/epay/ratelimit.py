"""Request limits per client address, counted in DynamoDB so every Lambda container sees the same counts.

Two budgets share one counter item per address and hour (one `UpdateItem` per request counts and reads both):
- requests per minute (`EPAY_LOOKUP_LIMIT_PER_MINUTE`, `EPAY_PAYMENT_LIMIT_PER_MINUTE`);
- for lookups, searches that found nothing per hour (`EPAY_LOOKUP_MISSES_PER_HOUR`). A payer mistypes a code a few
  times; an enumeration of the 1.7 M possible codes misses almost every time. Once an address is over its miss
  budget, *every* lookup from it is refused until the hour ends, so the refusal says nothing about any code.
- for payments, requests naming invoice ids that are unknown or of another code per hour
  (`EPAY_PAYMENT_MISSES_PER_HOUR`): a payer only sends ids a listing gave it, while trying codes against a known
  id, or ids against a code, misses almost every time. Past the budget every payment request from the address is
  refused until the hour ends, whatever it names.

Lookups are charged before they read anything (`charge`), so a refused lookup costs no invoice read; one that found
nothing then records its miss (`record_miss`: a second, small `UpdateItem`, only then).

With `misses_per_proof` (the lookup, api.md §8), a spent miss budget is not a wait: `charge` raises
`MissBudgetSpent` (the lookup answers `429 CHALLENGE_REQUIRED`), and each redeemed proof (`epay.challenge`) adds
`misses_per_proof` misses to the address's budget for the rest of the hour: the item's `grants` field, counted by
the same `UpdateItem` that charges the request. The budget of an hour is `miss_limit + grants * misses_per_proof`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

from epay.errors import rate_limited

MINUTE = 60
HOUR = 3600
MISSES = "misses"
GRANTS = "grants"


class MissBudgetSpent(Exception):
    """The address spent its miss budget, and a proof of work would buy it more (`misses_per_proof`)."""

    def __init__(self, proofs: int) -> None:
        super().__init__("miss budget spent")
        self.proofs = proofs
        """Proofs the address already redeemed this hour: the next challenge is harder for each (epay.challenge)."""


class HitCounter(Protocol):
    def count_hit(self, counter: str, fields: list[str], expires_at: int) -> dict[str, int]:  # pragma: no cover
        """Add one to each of `fields` of `counter`; return all of the counter's fields after the change."""


@dataclass(frozen=True)
class RateLimiter:
    """`limit` requests per subject (a client address) per minute, and optionally `miss_limit` misses per hour."""

    counter: HitCounter
    scope: str
    limit: int
    key: bytes
    miss_limit: int | None = None
    misses_per_proof: int | None = None
    """Misses a redeemed proof adds to the hour's budget; None: a spent budget waits for the hour's end."""

    def _counter(self, subject: str, now: int) -> str:
        # Addresses are personal data: counters are keyed by a keyed digest, never the address itself.
        tag = hmac.new(self.key, f"{self.scope}|{subject}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.scope}#{tag}#{now // HOUR}"

    def check(self, subject: str, now: int, missed: bool = False) -> None:
        """Count this request (and whether it found nothing); `RATE_LIMITED` when a budget was already spent.

        For a request counted after it ran, one `UpdateItem` records both it and its miss (lookups use `charge`
        and `record_miss` instead, so a refused one reads nothing). A budget is judged on what came before this
        request, so a request that finds something and one that finds nothing are refused from the same moment on:
        the refusal is no oracle.
        """
        hour_end = (now // HOUR + 1) * HOUR
        minute_field = f"m{now % HOUR // MINUTE}"
        counted_miss = missed and self.miss_limit is not None
        fields = [minute_field, MISSES] if counted_miss else [minute_field]
        counts = self.counter.count_hit(self._counter(subject, now), fields, hour_end + MINUTE)
        earlier_misses = counts.get(MISSES, 0) - (1 if counted_miss else 0)
        if self.miss_limit is not None and earlier_misses >= self.miss_limit:
            raise rate_limited(max(1, hour_end - now))
        if counts.get(minute_field, 0) > self.limit:
            raise rate_limited(max(1, MINUTE - now % MINUTE))

    def charge(self, subject: str, now: int, redeemed_proof: bool = False) -> None:
        """Count this request before any work is done; `RATE_LIMITED` when a budget was already spent.

        One `UpdateItem` counts the request (and the proof it redeemed, if any) and reads both budgets. The miss
        budget is judged on the misses recorded before this request, which cannot depend on what this request will
        find: a lookup for a code with unpaid invoices and one for a code without are refused from the same moment
        on, so the refusal is no oracle. With `misses_per_proof`, the raw rate is judged first (`RATE_LIMITED`: a proof
        would not help), then the miss budget (`MissBudgetSpent`).
        """
        hour_end = (now // HOUR + 1) * HOUR
        minute_field = f"m{now % HOUR // MINUTE}"
        fields = [minute_field, GRANTS] if redeemed_proof and self.misses_per_proof else [minute_field]
        counts = self.counter.count_hit(self._counter(subject, now), fields, hour_end + MINUTE)
        over_rate = counts.get(minute_field, 0) > self.limit
        if self.misses_per_proof is not None and self.miss_limit is not None:
            if over_rate:
                raise rate_limited(max(1, MINUTE - now % MINUTE))
            budget = self.miss_limit + counts.get(GRANTS, 0) * self.misses_per_proof
            if counts.get(MISSES, 0) >= budget:
                raise MissBudgetSpent(counts.get(GRANTS, 0))
            return
        if self.miss_limit is not None and counts.get(MISSES, 0) >= self.miss_limit:
            raise rate_limited(max(1, hour_end - now))
        if over_rate:
            raise rate_limited(max(1, MINUTE - now % MINUTE))

    def record_miss(self, subject: str, now: int) -> None:
        """Record a miss found after the request was charged and let through: a lookup that found nothing, a
        payment naming unknown invoices (nothing to record without a miss budget). The request that spends the
        budget is answered like any other; the next request from the address is refused."""
        if self.miss_limit is not None:
            hour_end = (now // HOUR + 1) * HOUR
            self.counter.count_hit(self._counter(subject, now), [MISSES], hour_end + MINUTE)
