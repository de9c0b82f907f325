"""A fourth gateway is its adapter and its registration: nothing else in the service changes to take it.

FAKEPAY (tests/support/fakepay.py) is registered here only. Through the real handlers it is offered (schema,
OpenAPI document, the page's generated method list, error texts), a payment starts on it, its signed callback
settles the payment and the invoices, and the engine's rules (duplicates, unknown orders, forged signatures, other
gateways' payments) hold for it as for the others.
"""

from __future__ import annotations

import functools
import json

import pytest

import gateway_callback_handler
from epay import clock, errors, runtime
from epay.gateways import registry
from epay.gateways.common import Endpoints
from epay.invoices import InvoiceStatus
from epay_local.openapi_build import build_document
from epay_local.web_contract import build_contract
from tests.support import fakepay
from tests.support.factories import FakeLambdaContext, an_invoice, http_event, response_json
from tests.support.payments import (
    CODE,
    given_invoices,
    pay_by_card,
    payment,
    payment_request,
    post_payment,
    start_payment,
    stored_invoice,
)


@pytest.fixture
def fakepay_offered(dynamodb, monkeypatch):
    """FAKEPAY registered and configured, as a deployment with its adapter would have it."""
    with registry.registered(fakepay.SPEC):
        config = runtime.gateway_settings()
        adapter = fakepay.FakepayGateway(Endpoints(config.public_api_url, config.frontend_url))
        extended = runtime.gateways().with_adapter(adapter)
        # A cached builder, like the one it stands in for (runtime.reset() clears it between tests).
        monkeypatch.setattr(runtime, "gateways", functools.cache(lambda: extended))
        yield


def post_fakepay(body: bytes, signature: str | None) -> tuple[int, dict]:
    headers = {fakepay.HEADER: signature} if signature else {}
    event = http_event("POST", "/v1/callbacks/fakepay", raw_body=body, headers=headers, source_ip="203.0.113.9")
    response = gateway_callback_handler.lambda_handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_a_payment_starts_on_the_fourth_gateway_and_its_callback_settles_it(fakepay_offered, frozen):
    # Given invoices, and a payment started on FAKEPAY through the public route
    invoices = given_invoices(an_invoice(CODE, amount="700.00"), an_invoice(CODE, amount="50.25"))
    created = start_payment(invoices, "FAKEPAY", "CARD")
    assert (created["gateway"], created["status"], created["amount"]) == ("FAKEPAY", "PENDING", "750.25")
    assert created["redirect"]["fields"]["order"] == created["payment_id"]
    # When FAKEPAY posts its signed notification, twice
    body = fakepay.notification(created["payment_id"], "750.25")
    assert post_fakepay(body, fakepay.signature(body, clock.now())) == (200, {"ok": True})
    assert post_fakepay(body, fakepay.signature(body, clock.now())) == (200, {"ok": True})
    # Then the payment and every invoice are paid, once
    view = payment(created["payment_id"])
    assert (view["status"], view["gateway_transaction_id"]) == ("PAID", "FP-1")
    assert all(stored_invoice(invoice.invoice_id).status is InvoiceStatus.PAID for invoice in invoices)


def test_the_engine_rules_hold_for_the_fourth_gateway(fakepay_offered, frozen):
    created = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "FAKEPAY", "WALLET")
    body = fakepay.notification(created["payment_id"], "100.00")
    # a bad signature changes nothing
    assert post_fakepay(body, "t=1,v1=00")[0] == 401
    # an unknown order is answered in FAKEPAY's format
    unknown = fakepay.notification("PAY-NOSUCHPAYMENT0000000000000", "100.00")
    assert post_fakepay(unknown, fakepay.signature(unknown, clock.now()))[0] == 404
    # money taken for another amount is refused and kept as money to return (Confirmation.TAKEN)
    other = fakepay.notification(created["payment_id"], "90.00", tx="FP-90")
    assert post_fakepay(other, fakepay.signature(other, clock.now()))[0] == 409
    view = payment(created["payment_id"])
    assert view["status"] == "PENDING"
    assert [funds["transaction_id"] for funds in view["unapplied_funds"]] == ["FP-90"]


def test_the_fourth_gateway_cannot_speak_for_another_gateways_payment(fakepay_offered, frozen):
    card = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "CMI", "CARD")
    body = fakepay.notification(card["payment_id"], "100.00")
    assert post_fakepay(body, fakepay.signature(body, clock.now()))[0] == 404
    assert payment(card["payment_id"])["status"] == "PENDING"
    # and the others are untouched by its registration
    assert pay_by_card(card) == (200, "ACTION=POSTAUTH")


def test_the_fourth_gateway_is_offered_wherever_gateways_are_listed(fakepay_offered):
    document = build_document()
    request = document["components"]["schemas"]["PaymentRequest"]
    assert "FAKEPAY" in request["properties"]["gateway"]["enum"]
    assert "WALLET" in request["properties"]["method"]["enum"]
    assert {
        "if": {"properties": {"gateway": {"const": "FAKEPAY"}}},
        "then": {"properties": {"method": {"enum": ["CARD", "WALLET"]}}},
    } in request["allOf"]
    assert build_contract(document)["methods"]["FAKEPAY"] == ["CARD", "WALLET"]
    assert "FAKEPAY : CARD ou WALLET" in errors.unsupported_method("FAKEPAY", "TASHILAT").errors[0].message


def test_a_method_the_fourth_gateway_does_not_offer_is_refused(fakepay_offered, frozen):
    invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    response = post_payment(payment_request(invoices, "FAKEPAY", "TASHILAT"))
    assert (response["statusCode"], response_json(response)["code"]) == (400, "UNSUPPORTED_METHOD")


def test_without_its_registration_the_gateway_does_not_exist(dynamodb, frozen):
    invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    response = post_payment(payment_request(invoices, "FAKEPAY", "CARD"))
    assert (response["statusCode"], response_json(response)["code"]) == (400, "VALIDATION_ERROR")
    body = fakepay.notification("PAY-X", "1.00")
    assert post_fakepay(body, fakepay.signature(body, clock.now()))[0] == 404
