"""What the service keeps of every gateway callback, for audit: never the body itself, never card data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class EvidenceSource(StrEnum):
    """How the service learnt what the evidence records."""

    CALLBACK = "CALLBACK"  # the gateway posted it (a callback, a bank's inquiry or confirm)
    STATUS_QUERY = "STATUS_QUERY"  # recovery asked the gateway's merchant API (operations-api.md §1)
    GATEWAY_OPERATION = "GATEWAY_OPERATION"  # recovery captured, voided or refunded at the gateway


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
    source: EvidenceSource = EvidenceSource.CALLBACK

    @staticmethod
    def digest(body: bytes) -> str:
        return hashlib.sha256(body).hexdigest()
