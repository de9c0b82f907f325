"""Proof of payment through the functions on moto (operations-api.md §7): `receipt_code` in the payment's view, and
`GET /v1/receipts/{receipt_code}` served by the list_invoices function, rate-limited like the lookup."""

from __future__ import annotations

import re

import jsonschema
import pytest

import list_invoices_handler
from epay import receipts
from epay.openapi import document
from tests.support.factories import FakeLambdaContext, an_invoice, http_event, response_json
from tests.support.payments import CODE, PAYER, given_invoices, pay_by_card, payment, start_payment

RECEIPT_FIELDS = {
    "receipt_code",
    "status",
    "payment_id",
    "paid_at",
    "amount",
    "currency",
    "issuer",
    "gateway",
    "method",
    "invoices",
}


def verify(typed: str, source_ip: str = "198.51.100.30") -> dict:
    event = http_event(
        "GET",
        f"/v1/receipts/{typed}",
        route_path="/v1/receipts/{receipt_code}",
        path_parameters={"receipt_code": typed},
        source_ip=source_ip,
    )
    return list_invoices_handler.lambda_handler(event, FakeLambdaContext())


@pytest.fixture
def paid(dynamodb, frozen):
    invoices = given_invoices(an_invoice(CODE, number="F-2026-000201", amount="1250.50"))
    created = start_payment(invoices, "CMI", "CARD")
    assert pay_by_card(created) == (200, "ACTION=POSTAUTH")
    return payment(created["payment_id"])


def test_a_paid_payment_s_view_carries_its_receipt_code(dynamodb, frozen):
    invoices = given_invoices(an_invoice(CODE, amount="10.00"))
    created = start_payment(invoices, "CMI", "CARD")
    assert payment(created["payment_id"])["receipt_code"] is None
    pay_by_card(created)
    assert re.fullmatch(receipts.PATTERN, payment(created["payment_id"])["receipt_code"])


def test_a_receipt_verifies_as_the_contract_says(paid):
    response = verify(paid["receipt_code"])
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    body = response_json(response)
    assert set(body) == RECEIPT_FIELDS
    assert body == {
        "receipt_code": paid["receipt_code"],
        "status": "PAID",
        "payment_id": paid["payment_id"],
        "paid_at": paid["paid_at"],
        "amount": "1250.50",
        "currency": "MAD",
        "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
        "gateway": "CMI",
        "method": "CARD",
        "invoices": [{"invoice_number": "F-2026-000201", "amount": "1250.50"}],
    }
    schema = document()["paths"]["/v1/receipts/{receipt_code}"]["get"]["responses"]["200"]
    assert schema["content"]["application/json"]["schema"]
    assert not [value for value in (*PAYER.values(), CODE) if value in response["body"]]


def test_the_openapi_document_describes_the_route_and_the_view_s_receipt_code():
    paths = document()["paths"]
    assert set(paths["/v1/receipts/{receipt_code}"]["get"]["responses"]) >= {"200", "404", "429"}
    components = document()["components"]["schemas"]
    assert "receipt_code" in components["PaymentView"]["properties"]
    jsonschema.Draft202012Validator.check_schema(components["ReceiptVerification"])


@pytest.mark.parametrize("typed", ["0123456789ABCDEF", "not-a-code", "%3Cscript%3E"])
def test_an_unknown_or_malformed_code_is_a_404_that_does_not_repeat_it(paid, typed):
    response = verify(typed)
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = response_json(response)
    assert problem["code"] == "RECEIPT_NOT_FOUND"
    assert typed not in response["body"]


def test_unknown_codes_spend_the_address_s_miss_budget(paid):
    for _ in range(20):
        assert verify(receipts.new_receipt_code(), "198.51.100.31")["statusCode"] == 404
    refused = verify(paid["receipt_code"], "198.51.100.31")
    assert refused["statusCode"] == 429
    assert response_json(refused)["code"] == "RATE_LIMITED"
    assert int(refused["headers"]["Retry-After"]) > 0
    assert verify(paid["receipt_code"], "198.51.100.32")["statusCode"] == 200
