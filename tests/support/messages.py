"""Gateway messages as the gateways write them, for tests at every level (no handler, no store imported here)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from epay import clock
from epay.clock import iso_instant

_serial = itertools.count(1)


def m2t_notification(
    payment_id: str,
    status: str,
    amount: str,
    *,
    currency: str = "MAD",
    event_id: str | None = None,
    transaction_id: str | None = None,
    reference: str | None = None,
    method: str = "CARD",
    occurred_at: int | None = None,
) -> bytes:
    """M2T's JSON notification body (`occurred_at` defaults to the frozen clock's now)."""
    body: dict[str, Any] = {
        "event_id": event_id or f"evt-{next(_serial):06d}",
        "order_ref": payment_id,
        "transaction_id": transaction_id or f"M2T-TX-{next(_serial):06d}",
        "status": status,
        "amount": amount,
        "currency": currency,
        "method": method,
        "occurred_at": iso_instant(clock.now() if occurred_at is None else occurred_at),
    }
    if reference is not None:
        body["reference"] = reference
    return json.dumps(body).encode("utf-8")
