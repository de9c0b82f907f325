"""Build the API's OpenAPI document from the three functions' routes (their pydantic models)."""

from __future__ import annotations

import json
from typing import Any

from epay.schemas import PAYMENT_ID_PATTERN
from epay_local.gateway import LocalFunction
from epay_local.template import PROJECT_ROOT, routes

DOCUMENT_PATH = PROJECT_ROOT / "layers" / "common" / "epay" / "openapi.json"


_FRAMEWORK_SCHEMAS = {"HTTPValidationError", "ValidationError", "ResponseValidationError"}


def _drop_framework_validation_error(operation: dict[str, Any]) -> None:
    """Powertools documents a 422 it never sends here (validation failures are our 400 problem+json)."""
    answer = operation.get("responses", {}).get("422", {})
    if "HTTPValidationError" in json.dumps(answer):
        del operation["responses"]["422"]


def _redirects_have_no_body(operation: dict[str, Any]) -> None:
    """Powertools gives every response a JSON body; a redirect has none, only its Location."""
    for status, answer in operation.get("responses", {}).items():
        if status.startswith("3"):
            answer.pop("content", None)
            answer["headers"] = {"Location": {"description": "Where the browser goes", "schema": {"type": "string"}}}


def _payment_ids_have_their_shape(operation: dict[str, Any]) -> None:
    """The routes take any `{payment_id}` and answer 404 to one no payment can have: say which shape can exist."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("name") == "payment_id":
            parameter["schema"]["pattern"] = PAYMENT_ID_PATTERN
            parameter["description"] = "As the payment's creation returned it; any other shape is unknown (404)."


def build_document() -> dict[str, Any]:
    """Merge each function's generated schema (paths and components) into one document."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "E-Paiement pour un tiers (PORTNET)",
            "version": "1.0.0",
            "description": "Look up an operator's unpaid invoices and pay them (see docs/ and api.md).",
        },
        "paths": {},
        "components": {"schemas": {}},
    }
    seen: set[str] = set()
    for route in routes():
        if route.function in seen:
            continue
        seen.add(route.function)
        module_app = LocalFunction(route).load_module().app
        schema = json.loads(module_app.get_openapi_json_schema())
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                _drop_framework_validation_error(operation)
                _redirects_have_no_body(operation)
                _payment_ids_have_their_shape(operation)
            merged["paths"].setdefault(path, {}).update(operations)
        components = schema.get("components", {}).get("schemas", {})
        merged["components"]["schemas"].update(
            {name: value for name, value in components.items() if name not in _FRAMEWORK_SCHEMAS}
        )
    merged["paths"] = dict(sorted(merged["paths"].items()))
    merged["components"]["schemas"] = dict(sorted(merged["components"]["schemas"].items()))
    return merged


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def render_document() -> str:
    return _render(build_document())


def write_document() -> dict[str, Any]:
    """Write the document; return it (web/js/contract.js is generated from it)."""
    document = build_document()
    DOCUMENT_PATH.write_text(_render(document), encoding="utf-8")
    return document
