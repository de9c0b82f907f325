"""list_invoices: the public reads — look up a subscription's unpaid invoices, verify a receipt by its code; serve
the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from epay import clock, openapi, runtime
from epay.http import client_address, create_api, json_response, ok, problem_responses, resolve
from epay.observability import logger
from epay.schemas import ReceiptVerification, SearchRequest, SearchResponse

# What this function reads from its environment: deployed, it refuses to start without it (epay.runtime).
USE_CASES = (runtime.EDGE, runtime.LOOKUP, runtime.RECEIPTS)
runtime.start(*USE_CASES)

app = create_api()


@app.post(
    "/v1/invoices/search",
    summary="Look up a subscription's unpaid invoices",
    tags=["invoices"],
    responses={
        200: json_response("One page of unpaid invoices", SearchResponse),
        **problem_responses(400, 413, 415, 429, 500, 503),
    },
)
def search_invoices(request: Annotated[SearchRequest, Body()]) -> Response[Any]:
    return ok(runtime.invoice_lookup().search(request, client_address(app.current_event, runtime.edge()), clock.now()))


@app.get(
    "/v1/receipts/<receipt_code>",
    summary="Verify a receipt by its code",
    tags=["receipts"],
    responses={
        200: json_response("What the receipt proves", ReceiptVerification),
        **problem_responses(404, 429, 503),
    },
)
def verify_receipt(receipt_code: str) -> Response[Any]:
    return ok(
        runtime.receipt_verifier().verify(receipt_code, client_address(app.current_event, runtime.edge()), clock.now())
    )


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=openapi.document_text())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context, runtime.edge)
