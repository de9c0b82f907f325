"""Gateway messages as the gateways write them, for tests at every level (no handler, no store imported here)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
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


CARD_NUMBER = "4000000000000002"


def cmi_result_fields(
    sent: Mapping[str, str], *, proc_return_code: str = "00", trans_id: str = "26015K1Q0001", error_message: str = ""
) -> dict[str, str]:
    """What CMI posts back before signing: every field the payment's form sent (but HASH), its result, a fresh rnd."""
    declined = proc_return_code != "00"
    return {
        **{name: value for name, value in sent.items() if name != "HASH"},
        "ProcReturnCode": proc_return_code,
        "Response": "Declined" if declined else "Approved",
        "AuthCode": "" if declined else "P12345",
        "TransId": trans_id,
        "HostRefNum": "" if declined else "601510123456",
        "ErrMsg": error_message,
        "MaskedPan": CARD_NUMBER,
        "EXTRA.TRXDATE": "20261127 10:15:30",
        "mdStatus": "1",
        "callbackCall": "true",
        "rnd": f"cb{next(_serial):018d}",
    }
