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
