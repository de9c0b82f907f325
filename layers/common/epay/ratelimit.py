"""Fixed-window request limits, counted in DynamoDB so every Lambda container sees the same count."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

from epay.errors import rate_limited

WINDOW_SECONDS = 60


class HitCounter(Protocol):
    def count_hit(self, counter: str, window_end: int) -> int:  # pragma: no cover - protocol
        ...


@dataclass(frozen=True)
class RateLimiter:
    """Allows `limit` requests per subject (a client address) per minute; the next one gets `429`."""

    counter: HitCounter
    scope: str
    limit: int
    key: bytes

    def check(self, subject: str, now: int) -> None:
        """Count this request; raise `RATE_LIMITED` with the seconds until the window ends if over the limit."""
        window = now // WINDOW_SECONDS
        window_end = (window + 1) * WINDOW_SECONDS
        # Addresses are personal data: counters are keyed by a keyed digest, never the address itself.
        tag = hmac.new(self.key, f"{self.scope}|{subject}".encode(), hashlib.sha256).hexdigest()[:32]
        hits = self.counter.count_hit(f"{self.scope}#{tag}#{window}", window_end)
        if hits > self.limit:
            raise rate_limited(max(1, window_end - now))
