"""`GET /v1/payments/{payment_id}/receipt.pdf?lang=` through the receipt function on moto (operations-api.md §7)."""

from __future__ import annotations

import base64

import pytest

import receipt_handler
from tests.support.factories import FakeLambdaContext, an_invoice, http_event, response_json
from tests.support.payments import CODE, given_invoices, pay_by_card, payment, start_payment
from tests.support.receipts import folded, pdf_text, qr_codes


def download(payment_id: str, query: str = "") -> dict:
    event = http_event(
        "GET",
        f"/v1/payments/{payment_id}/receipt.pdf",
        route_path="/v1/payments/{payment_id}/receipt.pdf",
        path_parameters={"payment_id": payment_id},
    )
    if query:
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&"))
    return receipt_handler.lambda_handler(event, FakeLambdaContext())


@pytest.fixture
def created(dynamodb, frozen):
    invoices = given_invoices(an_invoice(CODE, number="F-2026-000301", amount="99.90"))
    return start_payment(invoices, "CMI", "CARD")


def test_a_paid_payment_s_receipt_downloads_as_a_pdf_attachment(created):
    pay_by_card(created, trans_id="26015K1Q4242")
    view = payment(created["payment_id"])
    response = download(created["payment_id"], "lang=fr")
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "application/pdf"
    assert response["headers"]["Cache-Control"] == "no-store"
    code = view["receipt_code"]
    assert response["headers"]["Content-Disposition"] == f'attachment; filename="recu-portnet-{code}.pdf"'
    content = base64.b64decode(response["body"])
    text = folded(pdf_text(content))
    assert "F-2026-000301" in text
    assert "99,90 MAD" in text
    assert "26015K1Q4242" in text
    assert qr_codes(content) == [f"https://www.example.ma/e-paiement/?verify={code}"]


def test_french_is_the_default_and_arabic_is_asked_for_with_lang(created):
    pay_by_card(created)
    default = pdf_text(base64.b64decode(download(created["payment_id"])["body"]))
    arabic = folded(pdf_text(base64.b64decode(download(created["payment_id"], "lang=ar")["body"])))
    assert "Reçu de paiement" in default
    assert folded("وصل الأداء") in arabic


def test_another_language_is_a_validation_error(created):
    pay_by_card(created)
    response = download(created["payment_id"], "lang=de")
    assert response["statusCode"] == 400
    assert response_json(response)["code"] == "VALIDATION_ERROR"


def test_a_payment_not_paid_yet_answers_409(created):
    response = download(created["payment_id"])
    assert response["statusCode"] == 409
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert response_json(response)["code"] == "RECEIPT_NOT_AVAILABLE"


def test_an_unknown_payment_answers_404(dynamodb):
    response = download("PAY-NOSUCHPAYMENT0000000000000")
    assert response["statusCode"] == 404
    assert response_json(response)["code"] == "PAYMENT_NOT_FOUND"
