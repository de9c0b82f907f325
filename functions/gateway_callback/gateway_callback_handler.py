"""gateway_callback: the gateways' server-to-server callbacks, and the payer's browser coming back."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from epay import clock, errors, runtime
from epay.gateways.protocol import CallbackRequest
from epay.http import create_api, decode_body, problem_responses, resolve
from epay.observability import logger, metrics
from epay.payments import is_payment_id
from epay.urls import with_query

# What this function reads from its environment: deployed, it refuses to start without it (epay.runtime).
USE_CASES = (runtime.EDGE, runtime.CALLBACKS)
runtime.start(*USE_CASES)

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


@app.post("/v1/callbacks/<gateway>", include_in_schema=False)
def gateway_callback(gateway: str) -> Response[Any]:
    """`/v1/callbacks/cmi`, `/v1/callbacks/m2t`: whichever gateway the registry has at that path."""
    return _callback(gateway)


@app.post("/v1/callbacks/<gateway>/<action>", include_in_schema=False)
def gateway_callback_action(gateway: str, action: str) -> Response[Any]:
    """`/v1/callbacks/fatourati/inquiry`, `/v1/callbacks/fatourati/confirm`."""
    return _callback(f"{gateway}/{action}")


def _callback(path: str) -> Response[Any]:
    event = app.current_event
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    answer = runtime.callback_service().receive(path, CallbackRequest(decode_body(event), headers), clock.now_ms())
    if answer is None:
        raise errors.not_found()
    status, body = answer
    # Each gateway answers in its own format: CMI in plain text, the others in JSON.
    return _text(status, body) if isinstance(body, str) else _json(status, body)


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
    location = with_query(runtime.gateway_settings().frontend_url, payment=payment_id)
    return Response(status_code=303, headers={"Location": location, "Cache-Control": "no-store"}, body="")


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context, runtime.edge, json_bodies=False)
