"""The RFC 9457 problem document every 4xx/5xx of the JSON API answers, as a model (for the OpenAPI document).

Its own small module: every function documents its problems, but only the lookup and the payment functions need the
request and response models of `epay.schemas`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProblemFieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every 4xx/5xx of the JSON API is answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemFieldError] | None = None
    challenge: dict[str, Any] | None = Field(
        default=None,
        description=(
            "429 CHALLENGE_REQUIRED only (api.md §8): the ALTCHA challenge (algorithm, challenge, maxNumber, salt, "
            "signature); send the search again with `proof`, the base64 ALTCHA payload solving it."
        ),
    )
