"""`GET /v1/payments/{id}` (api.md §3) and `POST /v1/payments/{id}/cancel` (§4), through the create_payment
function."""

import jsonschema
import pytest

import list_invoices_handler
from epay import runtime
from epay.payments import PaymentEvent, Reversal, ReversalAction
from tests.support.factories import FakeLambdaContext, an_invoice, http_event, response_json
from tests.support.payments import (
    CODE,
    NOW,
    PAYMENT_FIELDS,
    cancel_payment,
    given_invoices,
    held_by,
    ids,
    iso,
    notify_m2t,
    pay_by_card,
    payment,
    read_payment,
    search,
    start_payment,
)


@pytest.fixture
def invoices(dynamodb, frozen):
    return given_invoices(
        an_invoice(CODE, number="F-2026-000101", amount="1000.00"),
        an_invoice(CODE, number="F-2026-000102", amount="20.50"),
    )


def problem_code(response):
    assert response["headers"]["Content-Type"] == "application/problem+json"
    return response["statusCode"], response_json(response)["code"]


# -- reading --------------------------------------------------------------------------------------------------


def test_a_new_payment_reads_with_the_contract_fields(invoices):
    created = start_payment(invoices, "CMI", "CARD")
    response = read_payment(created["payment_id"])
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    view = response_json(response)
    assert set(view) == PAYMENT_FIELDS
    assert view == {
        "payment_id": created["payment_id"],
        "status": "PENDING",
        "amount": "1020.50",
        "currency": "MAD",
        "gateway": "CMI",
        "method": "CARD",
        "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
        "invoices": [
            {"invoice_id": invoices[0].invoice_id, "invoice_number": "F-2026-000101", "amount": "1000.00"},
            {"invoice_id": invoices[1].invoice_id, "invoice_number": "F-2026-000102", "amount": "20.50"},
        ],
        "created_at": iso(NOW),
        "expires_at": iso(NOW + 1800),
        "paid_at": None,
        "gateway_transaction_id": None,
        "reference": None,
        "last_error": None,
        "reversal": None,
        "unapplied_funds": [],
        "receipt_code": None,
    }


def test_a_fatourati_payment_reads_with_its_reference(invoices):
    created = start_payment(invoices, "CMI", "FATOURATI")
    view = payment(created["payment_id"])
    assert view["status"] == "AWAITING_SETTLEMENT"
    assert view["reference"] == created["reference"]


def test_a_paid_payment_reads_with_when_and_by_which_transaction(invoices, frozen):
    created = start_payment(invoices, "CMI", "CARD")
    frozen.advance(90)
    pay_by_card(created, trans_id="26015K1Q7777")
    view = payment(created["payment_id"])
    assert view["status"] == "PAID"
    assert view["paid_at"] == iso(NOW + 90)
    assert view["gateway_transaction_id"] == "26015K1Q7777"


def test_a_reversed_payment_reads_as_reversed_with_how_its_money_was_returned(invoices, frozen):
    # Given a card payment the payer left, whose invoices another payment then paid, and its late approval
    late = start_payment(invoices, "CMI", "CARD")
    cancel_payment(late["payment_id"])
    pay_by_card(start_payment(invoices, "CMI", "CARD"), trans_id="26015K1Q0002")
    pay_by_card(late, trans_id="26015K1Q0001")
    assert payment(late["payment_id"])["status"] == "NEEDS_REVIEW"
    # When recovery voids its authorisation and records it, as its pass does (epay.recovery)
    frozen.advance(300)
    store = runtime.payment_store()
    flagged = store.get_payment(late["payment_id"])
    assert flagged is not None
    assert flagged.review_reason == "INVOICES_PAID_ELSEWHERE"
    voided = Reversal(ReversalAction.VOID, NOW + 300, "INVOICES_PAID_ELSEWHERE")
    store.transition(flagged, flagged.advance(PaymentEvent.MONEY_RETURNED, reversal=voided), None)
    # Then the payer's view says so: REVERSED, how and when the money went back, no invoice paid by it
    response = read_payment(late["payment_id"])
    assert response["statusCode"] == 200
    view = response_json(response)
    assert set(view) == PAYMENT_FIELDS
    assert view["status"] == "REVERSED"
    assert view["reversal"] == {"action": "VOID", "at": iso(NOW + 300), "reason": "INVOICES_PAID_ELSEWHERE"}
    assert view["paid_at"] is None
    assert view["gateway_transaction_id"] == "26015K1Q0001"
    jsonschema.validate(view, payment_view_schema())


def test_a_payment_that_was_not_reversed_reads_with_no_reversal(invoices):
    created = start_payment(invoices, "CMI", "CARD")
    pay_by_card(created, amount="1.00")
    view = payment(created["payment_id"])
    assert (view["status"], view["reversal"]) == ("NEEDS_REVIEW", None)


def test_the_openapi_document_lists_reversed_and_how_the_money_was_returned(dynamodb):
    view = openapi_document()["components"]["schemas"]["PaymentView"]
    assert "REVERSED" in view["properties"]["status"]["enum"]
    assert "reversal" in view["required"], "always sent: null unless the payment was reversed, as paid_at is"
    assert {"$ref": "#/components/schemas/ReversalOut"} in view["properties"]["reversal"]["anyOf"]
    assert {"type": "null"} in view["properties"]["reversal"]["anyOf"]
    reversal = openapi_document()["components"]["schemas"]["ReversalOut"]
    assert reversal["properties"]["action"]["enum"] == ["VOID", "REFUND", "MANUAL"]
    assert set(reversal["required"]) == {"action", "at", "reason"}


def openapi_document():
    """`GET /v1/openapi.json`, as the lookup function serves it."""
    event = http_event("GET", "/v1/openapi.json")
    return response_json(list_invoices_handler.lambda_handler(event, FakeLambdaContext()))


def payment_view_schema():
    """The document's PaymentView, its references resolved within the document."""
    return {"$ref": "#/components/schemas/PaymentView", "components": openapi_document()["components"]}


def test_the_subscription_code_is_never_returned(invoices):
    created = start_payment(invoices, "CMI", "FATOURATI", code=CODE.lower())
    response = read_payment(created["payment_id"])
    assert "subscription_code" not in response_json(response)
    assert CODE.lower() not in response["body"].lower()


def test_an_unknown_or_malformed_payment_is_not_found(dynamodb):
    for payment_id in ["PAY-AAAAAAAAAAAAAAAAAAAAAAAAAA", "unknown", "PAY_1", "x" * 65, "PAY-1;DROP", "%00"]:
        assert problem_code(read_payment(payment_id)) == (404, "PAYMENT_NOT_FOUND"), payment_id


# -- cancelling -----------------------------------------------------------------------------------------------


def test_cancelling_a_pending_payment_answers_200_with_the_cancelled_payment(invoices):
    created = start_payment(invoices, "M2T", "CARD")
    response = cancel_payment(created["payment_id"])
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    view = response_json(response)
    assert set(view) == PAYMENT_FIELDS
    assert (view["payment_id"], view["status"]) == (created["payment_id"], "CANCELLED")
    assert payment(created["payment_id"])["status"] == "CANCELLED"


def test_cancelling_releases_the_holds(invoices):
    created = start_payment(invoices, "CMI", "CARD")
    cancel_payment(created["payment_id"])
    listed = search()
    for invoice in invoices:
        assert listed[invoice.invoice_id]["status"] == "UNPAID"
        assert listed[invoice.invoice_id]["hold_expires_at"] is None
        assert held_by(invoice.invoice_id) is None


def test_cancelled_invoices_can_be_paid_by_a_new_payment(invoices):
    created = start_payment(invoices, "CMI", "CARD")
    cancel_payment(created["payment_id"])
    again = start_payment(invoices, "M2T", "TASHILAT")
    assert again["invoice_ids"] == ids(invoices)


def test_cancelling_a_payment_awaiting_settlement_releases_its_reference_hold(invoices):
    created = start_payment(invoices, "CMI", "FATOURATI")
    response = cancel_payment(created["payment_id"])
    assert response["statusCode"] == 200
    assert response_json(response)["status"] == "CANCELLED"
    assert all(item["status"] == "UNPAID" for item in search().values())


def test_a_cancelled_payment_cannot_be_cancelled_again(invoices):
    created = start_payment(invoices, "CMI", "CARD")
    cancel_payment(created["payment_id"])
    assert problem_code(cancel_payment(created["payment_id"])) == (409, "PAYMENT_NOT_CANCELLABLE")


def test_a_paid_payment_cannot_be_cancelled_and_stays_paid(invoices):
    created = start_payment(invoices, "CMI", "CARD")
    pay_by_card(created)
    assert problem_code(cancel_payment(created["payment_id"])) == (409, "PAYMENT_NOT_CANCELLABLE")
    assert payment(created["payment_id"])["status"] == "PAID"
    assert search() == {}


def test_a_payment_that_needs_review_cannot_be_cancelled(invoices):
    created = start_payment(invoices, "CMI", "CARD")
    pay_by_card(created, amount="1.00")
    assert problem_code(cancel_payment(created["payment_id"])) == (409, "PAYMENT_NOT_CANCELLABLE")
    assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"


def test_a_failed_payment_cannot_be_cancelled(invoices):
    created = start_payment(invoices, "M2T", "CARD")
    notify_m2t(created, "FAILED")
    assert problem_code(cancel_payment(created["payment_id"])) == (409, "PAYMENT_NOT_CANCELLABLE")
    assert payment(created["payment_id"])["status"] == "FAILED"


def test_an_expired_payment_cannot_be_cancelled(invoices, frozen):
    created = start_payment(invoices, "CMI", "CARD")
    frozen.advance(1800)
    assert problem_code(cancel_payment(created["payment_id"])) == (409, "PAYMENT_NOT_CANCELLABLE")
    assert payment(created["payment_id"])["status"] == "EXPIRED"


def test_cancelling_an_unknown_payment_is_not_found(dynamodb):
    assert problem_code(cancel_payment("PAY-AAAAAAAAAAAAAAAAAAAAAAAAAA")) == (404, "PAYMENT_NOT_FOUND")
