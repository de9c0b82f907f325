"""Solving a lookup challenge as an outside client does: with ALTCHA's Python library (`altcha`), nothing of ours."""

from __future__ import annotations

from typing import Any

from altcha import PayloadV1, solve_challenge_v1


def solve(challenge: dict[str, Any]) -> str:
    """The `proof` for a `429 CHALLENGE_REQUIRED`'s `challenge`: ALTCHA's base64 payload."""
    solution = solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    assert solution is not None, "the challenge has no solution within its maxNumber"
    payload = PayloadV1(
        challenge["algorithm"], challenge["challenge"], solution.number, challenge["salt"], challenge["signature"]
    )
    return payload.to_base64()
