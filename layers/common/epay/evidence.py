"""What the service keeps of every gateway callback, for audit: never the body itself, never card data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallbackEvidence:
    """One callback as received and decided: who sent it, its hash, whether it verified, what we did and said."""

    gateway: str
    received_at_ms: int
    body_sha256: str
    verified: bool
    decision: str
    answer_status: int
    payment_id: str | None = None
    notification: str = ""

    @staticmethod
    def digest(body: bytes) -> str:
        return hashlib.sha256(body).hexdigest()
