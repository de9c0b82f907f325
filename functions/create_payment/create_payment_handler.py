"""create_payment: start a payment for one issuer's invoices, read it, cancel it."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from epay import clock, runtime
from epay.http import client_address, create_api, json_response, ok, problem_responses, resolve
from epay.observability import logger, metrics
from epay.schemas import PaymentCreated, PaymentRequest, PaymentView

# What this function reads from its environment: deployed, it refuses to start without it (epay.runtime).
USE_CASES = (runtime.EDGE, runtime.PAYMENTS, runtime.IDEMPOTENCY)
runtime.start(*USE_CASES)

app = create_api()


@app.post(
    "/v1/payments",
    summary="Start a payment: hold the invoices, get the gateway redirect or reference",
    tags=["payments"],
    responses={
        201: json_response("Payment started", PaymentCreated),
        **problem_responses(400, 404, 409, 413, 415, 422, 429, 503),
    },
)
def start_payment(
    request: Annotated[PaymentRequest, Body()],
    idempotency_key: Annotated[
        str | None, Header(alias="idempotency-key", min_length=1, max_length=255, description="1..255 characters")
    ] = None,
) -> Response[Any]:
    address, now = client_address(app.current_event, runtime.edge()), clock.now()

    def start() -> dict[str, Any]:
        return runtime.payment_service().create(request, address, now).model_dump(mode="json")

    if idempotency_key is None:
        return ok(PaymentCreated.model_validate(start()), 201)
    payload = request.model_dump(mode="json")
    return ok(PaymentCreated.model_validate(runtime.idempotency()(idempotency_key, payload, start)), 201)


@app.get(
    "/v1/payments/<payment_id>",
    summary="Read a payment's status",
    tags=["payments"],
    responses={200: json_response("The payment", PaymentView), **problem_responses(404, 503)},
)
def read_payment(payment_id: str) -> Response[Any]:
    return ok(runtime.payment_service().view(payment_id, clock.now()))


@app.post(
    "/v1/payments/<payment_id>/cancel",
    summary="Cancel a live payment and release its invoices",
    tags=["payments"],
    responses={200: json_response("The cancelled payment", PaymentView), **problem_responses(404, 409, 503)},
)
def cancel_payment(payment_id: str) -> Response[Any]:
    return ok(runtime.payment_service().cancel(payment_id, clock.now()))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.idempotency().config.register_lambda_context(context)
    return resolve(app, event, context, runtime.edge)
