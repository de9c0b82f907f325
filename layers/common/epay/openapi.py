"""`GET /v1/openapi.json`: the contract's document, generated from the routes' pydantic models at build time.

The three functions each know only their own routes, so `epay openapi --write` merges their generated schemas into
`openapi.json` beside this module; a test fails if the committed file drifts from what the models generate.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def document() -> dict[str, Any]:
    """The committed OpenAPI document (read once per container)."""
    text = resources.files("epay").joinpath("openapi.json").read_text(encoding="utf-8")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


@cache
def document_text() -> str:
    """The document as served: encoded once per container, not once per request."""
    return json.dumps(document(), separators=(",", ":"))
