"""Time in one place: epoch seconds for storage and comparisons, ISO 8601 UTC for the contract."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> int:
    """Current Unix time in whole seconds."""
    return int(time.time())


def iso_instant(epoch_seconds: int) -> str:
    """`2026-11-27T10:15:00Z`."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_ms() -> int:
    """Current Unix time in milliseconds (callback evidence is ordered by it)."""
    return time.time_ns() // 1_000_000


def has_lapsed(expires_at: int, now: int) -> bool:
    """The one expiry rule, for holds and payments alike: live strictly before `expires_at`, lapsed from it on.

    The store's conditions encode the same rule with `lapsed_condition`.
    """
    return now >= expires_at


def lapsed_condition(attribute: str, now_value: str = ":now") -> str:
    """`has_lapsed` as a DynamoDB condition on an expiry attribute (absent counts as lapsed: nothing holds it)."""
    return f"(attribute_not_exists({attribute}) OR {attribute} <= {now_value})"
