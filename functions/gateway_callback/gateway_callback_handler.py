"""gateway_callback: the gateways' server-to-server callbacks, and the payer's browser coming back."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from epay import clock, errors, runtime
from epay.config import settings
from epay.http import create_api, decode_body, problem_responses, resolve
from epay.observability import logger, metrics
from epay.payments import is_payment_id
from epay.urls import with_query

app = create_api()


def _text(status: int, body: str) -> Response[Any]:
    return Response(
        status_code=status, content_type="text/plain; charset=utf-8", body=body, headers={"Cache-Control": "no-store"}
    )


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers={"Cache-Control": "no-store"},
    )


@app.post("/v1/callbacks/cmi", include_in_schema=False)
def cmi_callback() -> Response[Any]:
    return _text(*runtime.callback_service().cmi(decode_body(app.current_event), clock.now_ms()))


@app.post("/v1/callbacks/m2t", include_in_schema=False)
def m2t_callback() -> Response[Any]:
    signature = app.current_event.headers.get("x-m2t-signature")
    return _json(*runtime.callback_service().m2t(decode_body(app.current_event), signature, clock.now_ms()))


@app.post("/v1/callbacks/fatourati/inquiry", include_in_schema=False)
def fatourati_inquiry() -> Response[Any]:
    signature = app.current_event.headers.get("x-fatourati-signature")
    body = decode_body(app.current_event)
    return _json(*runtime.callback_service().fatourati_inquiry(body, signature, clock.now_ms()))


@app.post("/v1/callbacks/fatourati/confirm", include_in_schema=False)
def fatourati_confirm() -> Response[Any]:
    signature = app.current_event.headers.get("x-fatourati-signature")
    body = decode_body(app.current_event)
    return _json(*runtime.callback_service().fatourati_confirm(body, signature, clock.now_ms()))


@app.route(
    "/v1/payments/<payment_id>/return",
    method=["GET", "POST"],
    summary="Where the gateways send the payer's browser back (never changes state)",
    tags=["payments"],
    responses={303: {"description": "To the E-PAIEMENT page, which reads the payment"}, **problem_responses(404)},
)
def browser_return(payment_id: str) -> Response[Any]:
    if not is_payment_id(payment_id):
        raise errors.payment_not_found()
    location = with_query(settings().frontend_url, payment=payment_id)
    return Response(status_code=303, headers={"Location": location, "Cache-Control": "no-store"}, body="")


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context, json_bodies=False)
