"""The demo data set loaded by `epay serve --demo`: a few subscription codes that show every case."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

ISSUERS = {
    "ANP": "Agence Nationale des Ports",
    "MARSA": "Marsa Maroc",
    "TMSA": "Tanger Med Port Authority",
}
SERVICES = [
    "Droits de port, escale {ref}",
    "Redevance de stationnement, escale {ref}",
    "Manutention conteneurs, escale {ref}",
    "Magasinage, connaissement {ref}",
    "Pilotage et remorquage, escale {ref}",
]

DEMO_CODES = {
    "AB12": "3 unpaid invoices of one issuer (ANP)",
    "MAR1": "35 unpaid invoices across ANP, MARSA and TMSA (3 more already paid, never shown)",
    "NUL0": "nothing unpaid (its only invoices are paid): same answer as an unknown code",
}


def _record(
    code: str, issuer: str, number: str, issued: date, centimes: int, description: str, **extra: Any
) -> dict[str, Any]:
    return {
        "subscription_code": code,
        "invoice_number": number,
        "issuer_code": issuer,
        "issuer_name": ISSUERS[issuer],
        "issue_date": issued.isoformat(),
        "due_date": (issued + timedelta(days=30)).isoformat(),
        "amount": f"{centimes // 100}.{centimes % 100:02d}",
        "currency": "MAD",
        "description": description,
        **extra,
    }


def demo_records() -> list[dict[str, Any]]:
    """Deterministic demo invoices (the same every run)."""
    rng = random.Random(20261127)
    records = [
        _record("AB12", "ANP", "F-2026-000123", date(2026, 1, 15), 125_050, "Droits de port, escale 2026/1234"),
        _record(
            "AB12",
            "ANP",
            "F-2026-000187",
            date(2026, 2, 3),
            98_000,
            "Redevance de stationnement, escale 2026/1301",
        ),
        _record(
            "AB12",
            "ANP",
            "F-2026-000242",
            date(2026, 3, 9),
            2_310_075,
            "Pilotage et remorquage, escale 2026/1388",
        ),
    ]
    start = date(2026, 1, 5)
    for index in range(38):
        issuer = list(ISSUERS)[index % 3]
        issued = start + timedelta(days=rng.randrange(0, 300))
        reference = f"2026/{2000 + index}"
        description = rng.choice(SERVICES).format(ref=reference)
        centimes = rng.randrange(15_000, 4_500_000)
        extra = {"status": "PAID"} if index % 10 == 9 else {}
        records.append(
            _record("MAR1", issuer, f"{issuer[:2]}-2026-{index + 1:05d}", issued, centimes, description, **extra)
        )
    records.append(
        _record(
            "NUL0",
            "MARSA",
            "MA-2025-09001",
            date(2025, 11, 20),
            45_000,
            "Magasinage, connaissement CN88",
            status="PAID",
        )
    )
    records.append(
        _record(
            "NUL0",
            "ANP",
            "F-2025-009871",
            date(2025, 12, 1),
            310_000,
            "Droits de port, escale 2025/9871",
            status="PAID",
        )
    )
    return records


def demo_lines() -> list[bytes]:
    """The demo set as the JSON Lines an operator would load."""
    return [json.dumps(record, ensure_ascii=False).encode("utf-8") for record in demo_records()]
