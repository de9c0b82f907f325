"""What every JSON route shares: the resolver, problem+json errors from one mapping, response headers.

Routes raise `DomainError`s (or let validation fail); this module is the only place that turns a failure into an
HTTP answer, so every 4xx/5xx is RFC 9457 problem details with a machine `code` and a French `detail`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from epay import errors
from epay.edge import Edge
from epay.error_catalogue import PYDANTIC_MESSAGES, field_message
from epay.errors import DomainError, FieldError, StoreUnavailable
from epay.json_bounds import MAX_DEPTH, MAX_NUMBER_CHARS, NUMBER_TOO_LONG, TOO_DEEP, JsonTooComplex, check_json_bounds
from epay.observability import logger
from epay.problem import Problem

PROBLEM_TYPE_BASE = "https://epaiement.portnet.ma/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
MAX_JSON_BODY_BYTES = 16 * 1024
MAX_CALLBACK_BODY_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}

NOT_AN_OBJECT = "a JSON object is expected"
# Why a body was not read, in French; only our own reasons are named, never the parser's words or the input.
_UNREADABLE_BODY = {
    TOO_DEEP: field_message("json_too_deep", depth=MAX_DEPTH),
    NUMBER_TOO_LONG: field_message("number_too_long", length=MAX_NUMBER_CHARS),
    NOT_AN_OBJECT: PYDANTIC_MESSAGES["model_type"],
}


def problem_body(error: DomainError) -> dict[str, Any]:
    """The RFC 9457 document for a domain error."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code.lower().replace("_", "-"),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if error.errors:
        body["errors"] = [{"field": item.field, "message": item.message} for item in error.errors]
    return {**body, **{name: value for name, value in error.extensions.items() if name not in body}}


def problem_response(error: DomainError) -> Response[Any]:
    return Response(
        status_code=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=json.dumps(problem_body(error), ensure_ascii=False),
        headers={**NO_STORE, **error.headers},
    )


def ok(model: BaseModel, status: int = 200) -> Response[Any]:
    """A JSON answer that carries invoice or payment data: never cached.

    Encoded once by pydantic: the resolver neither validates our own model again nor walks it to encode it. The
    route documents the model with `json_response` so the OpenAPI document still describes the body.
    """
    return Response(
        status_code=status, content_type="application/json", body=model.model_dump_json(), headers=dict(NO_STORE)
    )


def json_response(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    """An OpenAPI `responses` entry for a JSON body of `model`."""
    return {"description": description, "content": {"application/json": {"model": model}}}


def _field_errors(raw_errors: Sequence[Any]) -> list[FieldError]:
    """Pydantic's errors as `{field, message}`: never the rejected input (it may be a code or a secret)."""
    found: list[FieldError] = []
    for raw in raw_errors:
        location = [str(part) for part in raw.get("loc", ()) if part != "body"]
        field = ".".join(location) or "body"
        kind = str(raw.get("type", ""))
        message = PYDANTIC_MESSAGES.get(kind)
        if message is None:
            # Our own validators raise the catalogue's messages; pydantic prefixes them with "Value error, ".
            message = str(raw.get("msg", field_message("invalid_value"))).removeprefix("Value error, ")
        found.append(FieldError(field, message))
    return found


def _from_validation(error: RequestValidationError) -> DomainError:
    raw_errors = list(error.errors())
    fields = _field_errors(raw_errors)
    unreadable = [raw for raw in raw_errors if str(raw.get("type")) == "json_invalid"]
    if unreadable:
        reason = str((unreadable[0].get("ctx") or {}).get("error", ""))
        body = FieldError("body", _UNREADABLE_BODY.get(reason, PYDANTIC_MESSAGES["json_invalid"]))
        return errors.validation_error([body], "body_not_json")
    if any(item.field == "subscription_code" for item in fields):
        return errors.invalid_subscription_code(fields)
    if any(item.field == "cursor" for item in fields):
        return errors.invalid_cursor()
    if any(item.field == "method" for item in fields):
        return errors.unsupported_method_value(fields)
    return errors.validation_error(fields)


def _undecodable_body() -> DomainError:
    return errors.validation_error([FieldError("body", field_message("utf8_invalid"))], "body_not_utf8")


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str) -> Any:
    """Parse a body as JSON, or raise `json.JSONDecodeError` (which validation answers `400 VALIDATION_ERROR`).

    Refused besides malformed text: anything but an object at the top; nesting or numbers beyond `epay.json_bounds`
    (checked before parsing, so the parser can neither recurse out of stack nor hit Python's integer-digits limit);
    `NaN` and `Infinity`, which Python reads but JSON does not have; lone surrogate escapes (`"\\ud800"`), which are
    not Unicode text, cannot be stored or logged as UTF-8, and RFC 8259 requires UTF-8 bodies.
    """
    try:
        check_json_bounds(text)
        parsed = json.loads(text, parse_constant=_not_json_constant)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError:
        raise
    except JsonTooComplex as error:
        raise json.JSONDecodeError(str(error), text, 0) from error
    except UnicodeEncodeError as error:
        raise json.JSONDecodeError("lone surrogate in a string", text, 0) from error
    except (ValueError, RecursionError) as error:
        # NaN or Infinity; past the bounds nothing else should land here, and if it does it is a 400, not a 500.
        raise json.JSONDecodeError("not readable as JSON", text, 0) from error
    if not isinstance(parsed, dict):
        # Every JSON body of the contract is an object; Powertools would read a list as its first element.
        raise json.JSONDecodeError(NOT_AN_OBJECT, text, 0)
    return parsed


def create_api() -> APIGatewayHttpResolver:
    """The resolver for a JSON function, with the one exception mapping every route shares."""
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=strict_json)

    @app.exception_handler(DomainError)
    def _domain(error: DomainError) -> Response[Any]:
        logger.info("request refused", extra={"problem": error.code, "status": error.status})
        return problem_response(error)

    @app.exception_handler(RequestValidationError)
    def _validation(error: RequestValidationError) -> Response[Any]:
        problem = _from_validation(error)
        # Field names can be the caller's own keys (unknown fields): count them, never log them.
        logger.info("request invalid", extra={"problem": problem.code, "invalid_fields": len(problem.errors)})
        return problem_response(problem)

    @app.exception_handler(RequestUnsupportedContentType)
    def _content_type(_: RequestUnsupportedContentType) -> Response[Any]:
        return problem_response(errors.unsupported_media_type())

    @app.exception_handler([UnicodeDecodeError, binascii.Error])
    def _undecodable(_: Exception) -> Response[Any]:
        return problem_response(_undecodable_body())

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        return problem_response(errors.not_found())

    @app.exception_handler(StoreUnavailable)
    def _unavailable(error: StoreUnavailable) -> Response[Any]:
        logger.warning("store unavailable", extra={"reason": str(error)})
        return problem_response(errors.service_unavailable())

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[Any]:
        logger.exception("unexpected failure", extra={"error_type": type(error).__name__})
        return problem_response(errors.internal_error())

    return app


def client_address(event: APIGatewayProxyEventV2, edge: Edge) -> str:
    """The client's address as rate limits count it: the viewer's as CloudFront saw it when the request came through
    the distribution (its origin secret verified), else the caller's as API Gateway saw it; never a header alone."""
    return edge.client_address(event.headers or {}, event.request_context.http.source_ip)


def _raw_body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return (len(body) * 3) // 4
    return len(body.encode("utf-8", errors="surrogatepass"))


def _as_lambda_response(response: Response[Any]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE, **(response.headers or {})},
        "body": response.body,
        "isBase64Encoded": False,
    }


_JSON_READABLE = ("application/json", "text/plain", "application/x-www-form-urlencoded")


def _as_json_request(event: dict[str, Any]) -> dict[str, Any] | None:
    """The event with its body readable as JSON, or None when its content type cannot be JSON.

    The contract's bodies are JSON whatever the client declares: `curl -d` sends form-urlencoded, and API Gateway
    base64-encodes such bodies; both are normalised here so validation reads one kind of body.
    """
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not event.get("body"):
        return event
    if content_type and content_type not in _JSON_READABLE:
        return None
    body = event["body"]
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body, validate=True).decode("utf-8")
    headers["content-type"] = "application/json"
    return {**event, "headers": headers, "body": body, "isBase64Encoded": False}


def resolve(
    app: APIGatewayHttpResolver,
    event: dict[str, Any],
    context: LambdaContext,
    edge: Callable[[], Edge],
    json_bodies: bool = True,
) -> dict[str, Any]:
    """Resolve an HTTP API event: a request that went around the CloudFront distribution (deployed; `edge` reads the
    origin secret) and oversized or non-JSON bodies are refused before anything parses them.

    Callback routes (`json_bodies=False`) read their raw bodies themselves, in the gateway's own format.
    """
    try:
        refused = edge().refuses(event.get("headers") or {})
    except Exception as error:
        # The origin secret could not be read (Secrets Manager unreachable): nobody can be told apart, so nobody is
        # served, and the caller is told to come back (a gateway retries).
        logger.warning("origin secret unreadable", extra={"error_type": type(error).__name__})
        return _as_lambda_response(problem_response(errors.service_unavailable()))
    if refused:
        # Never the secret nor the headers: only that the request came another way.
        logger.warning("request refused: not through the distribution")
        return _as_lambda_response(problem_response(errors.forbidden()))
    limit = MAX_JSON_BODY_BYTES if json_bodies else MAX_CALLBACK_BODY_BYTES
    if _raw_body_size(event) > limit:
        return _as_lambda_response(problem_response(errors.payload_too_large(limit)))
    if not json_bodies:
        return app.resolve(event, context)
    try:
        readable = _as_json_request(event)
    except (binascii.Error, UnicodeDecodeError):
        return _as_lambda_response(problem_response(_undecodable_body()))
    if readable is None:
        return _as_lambda_response(problem_response(errors.unsupported_media_type()))
    return app.resolve(readable, context)


def decode_body(event: APIGatewayProxyEventV2) -> bytes:
    """The raw request body bytes (API Gateway may have base64-encoded them)."""
    body = event.body or ""
    return base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode("utf-8")


_PROBLEM_DESCRIPTIONS = {
    400: "Invalid request (VALIDATION_ERROR and the route's own 400 codes)",
    404: "Unknown resource",
    409: "Conflict with the current state",
    413: "Body too large (PAYLOAD_TOO_LARGE)",
    415: "Body is not JSON (UNSUPPORTED_MEDIA_TYPE)",
    422: "Semantically invalid request",
    429: "Too many requests from this address (RATE_LIMITED); see Retry-After",
    500: "Unexpected failure (INTERNAL_ERROR)",
    503: "Storage temporarily unavailable (SERVICE_UNAVAILABLE); retry",
}


def problem_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses` entries for the problem+json answers a route can give."""
    return {
        status: {
            "description": _PROBLEM_DESCRIPTIONS[status],
            "content": {PROBLEM_CONTENT_TYPE: {"model": Problem}},
        }
        for status in statuses
    }
