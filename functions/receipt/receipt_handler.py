"""receipt: a paid payment's receipt as a PDF (operations-api.md §7). A function of its own, with the receipt layer
(fpdf2, HarfBuzz, the fonts), so that no other function ships or imports them."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from epay import runtime
from epay.http import NO_STORE, create_api, problem_responses, resolve
from epay.observability import logger

# What this function reads from its environment: deployed, it refuses to start without it (epay.runtime).
USE_CASES = (runtime.EDGE, runtime.RECEIPT_DOCUMENTS)
runtime.start(*USE_CASES)

app = create_api()


@app.get(
    "/v1/payments/<payment_id>/receipt.pdf",
    summary="A paid payment's receipt, as a PDF",
    tags=["receipts"],
    responses={
        200: {
            "description": "The receipt (application/pdf), as an attachment",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(400, 404, 409, 503),
    },
)
def receipt_pdf(
    payment_id: str,
    lang: Annotated[Literal["fr", "ar", "en"], Query(description="fr, ar or en")] = "fr",
) -> Response[Any]:
    document = runtime.receipt_documents().pdf(payment_id, lang)
    # Encoded here rather than by the resolver: its response validation would read raw bytes as UTF-8 text.
    response: Response[Any] = Response(
        status_code=200,
        content_type="application/pdf",
        body=base64.b64encode(document.content).decode("ascii"),
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{document.filename}"'},
    )
    response.base64_encoded = True
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context, runtime.edge)
