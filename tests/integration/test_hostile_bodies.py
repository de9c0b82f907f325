"""Outside review (issue 9, item 7): bodies that used to answer 500 are the client's error, in every route's format.

The JSON routes answer `400 VALIDATION_ERROR` problem+json; the gateways' callback routes answer their own 400, never
a 5xx (a gateway retries a 5xx for days). None of them logs a stack trace or sends the body back.
"""

import json

import pytest

import create_payment_handler
import list_invoices_handler
from tests.support.factories import FakeLambdaContext, http_event, response_json
from tests.support.payments import post_fatourati, post_m2t

JSON_ROUTES = {
    "/v1/invoices/search": list_invoices_handler.lambda_handler,
    "/v1/payments": create_payment_handler.lambda_handler,
}
MARKER = "ZQXW"  # a code-shaped text that must never come back in an answer
DEEP = {
    "8000 nested arrays": "[" * 8000 + "]" * 8000,
    "8000 unclosed arrays": "[" * 8000,
    "2000 nested objects": '{"a":' * 2000 + "1" + "}" * 2000,
    "deep inside a known field": json.dumps({"subscription_code": MARKER, "filters": None}).replace(
        "null", '{"a":' * 100 + "1" + "}" * 100
    ),
}


def with_page_size(literal):
    """A search body whose page_size is `literal`, written as is."""
    return f'{{"subscription_code": "{MARKER}", "page_size": {literal}}}'


HUGE_NUMBERS = {
    "a 5000-digit integer": "1" * 5000,
    "a 4301-digit page_size": with_page_size("1" * 4301),
    "a 5000-digit negative integer": with_page_size("-" + "9" * 5000),
    "a 5000-digit number in a list": f'{{"invoice_ids": [{"7" * 5000}]}}',
}
NOT_JSON_NUMBERS = {"NaN": with_page_size("NaN"), "Infinity": with_page_size("Infinity")}


def post_json_route(route, text):
    event = http_event("POST", route, raw_body=text.encode("utf-8"))
    return JSON_ROUTES[route](event, FakeLambdaContext())


def assert_validation_error(response, message):
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = response_json(response)
    assert problem["code"] == "VALIDATION_ERROR"
    assert problem["errors"] == [{"field": "body", "message": message}]
    assert MARKER not in response["body"]


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("body", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_is_a_validation_error_naming_the_bound(dynamodb, route, body):
    assert_validation_error(post_json_route(route, body), "JSON trop imbriqué (au plus 32 niveaux)")


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("body", HUGE_NUMBERS.values(), ids=HUGE_NUMBERS.keys())
def test_a_number_of_thousands_of_digits_is_a_validation_error_naming_the_bound(dynamodb, route, body):
    assert_validation_error(post_json_route(route, body), "nombre trop long (au plus 32 caractères)")


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("body", NOT_JSON_NUMBERS.values(), ids=NOT_JSON_NUMBERS.keys())
def test_nan_and_infinity_are_not_json(dynamodb, route, body):
    assert_validation_error(post_json_route(route, body), "JSON invalide")


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("body", ["[%s]", "[%s, 1]", "null", '"AB12"', "1"])
def test_a_body_that_is_not_a_json_object_is_refused_as_such(dynamodb, route, body):
    # A list was read as its first element (Powertools' leniency for form fields) and answered like that object.
    valid = json.dumps({"subscription_code": "AB12"} if "search" in route else PAYMENT)
    response = post_json_route(route, body.replace("%s", valid))
    assert_validation_error(response, "objet JSON attendu")


@pytest.mark.parametrize("route", JSON_ROUTES)
def test_nesting_within_the_bound_is_validated_as_usual(dynamodb, route):
    body = json.dumps({"subscription_code": MARKER, "filters": None}).replace("null", "[" * 30 + "]" * 30)
    response = post_json_route(route, body)
    assert response["statusCode"] == 400
    assert response_json(response)["errors"] != [{"field": "body", "message": "JSON invalide"}]


def test_no_refusal_logs_a_stack_trace(dynamodb, logs):
    for route in JSON_ROUTES:
        for body in [*DEEP.values(), *HUGE_NUMBERS.values(), *NOT_JSON_NUMBERS.values()]:
            assert post_json_route(route, body)["statusCode"] == 400
    assert "Traceback" not in logs.text()
    assert "unexpected failure" not in logs.text()
    assert MARKER not in logs.text()


# -- every other hostile body the review's search found: a 4xx problem, never a 500 --------------------------------

SEARCH = {"subscription_code": MARKER}
PAYMENT = {
    "subscription_code": MARKER,
    "invoice_ids": ["inv-1"],
    "gateway": "CMI",
    "method": "CARD",
    "payer": {"name": "Société Maritime", "email": "compta@example.ma"},
}
OTHER_HOSTILE = {
    "a 15000-character invoice number": {**SEARCH, "invoice_number": "F" * 15000},
    "a 15000-character search text": {**SEARCH, "filters": {"text": "é" * 7000}},
    "a 15000-character cursor": {**SEARCH, "cursor": "A" * 15000},
    "a 15000-character payer name": {**PAYMENT, "payer": {"name": "N" * 15000, "email": "a@b.ma"}},
    "a 15000-character invoice id": {**PAYMENT, "invoice_ids": ["i" * 15000]},
    "7000 invoice ids": {**PAYMENT, "invoice_ids": [1] * 7000},
    "1500 unknown fields": {**SEARCH, **{f"k{index}": 1 for index in range(1500)}},
    "a byte order mark before the body": "\ufeff" + json.dumps(SEARCH),
    "a lone surrogate": '{"subscription_code": "\\ud800AB1"}',
    "a NUL in the code": {"subscription_code": "AB1\u0000"},
    "Arabic-Indic digits in the code": {"subscription_code": "AB\u0661\u0662"},
    "C1 controls in a payer email": {**PAYMENT, "payer": {"name": "N", "email": "\u0085\u009f@b.ma"}},
    "an impossible date": {**SEARCH, "filters": {"issued_from": "2026-02-30"}},
    "year zero": {**SEARCH, "filters": {"issued_from": "0000-01-01"}},
    "a page_size of 1e999": '{"subscription_code": "AB12", "page_size": 1e999}',
}


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("body", OTHER_HOSTILE.values(), ids=OTHER_HOSTILE.keys())
def test_every_other_hostile_body_is_a_4xx_problem_never_a_500(dynamodb, route, body):
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    response = post_json_route(route, text)
    assert 400 <= response["statusCode"] < 500
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert MARKER not in response["body"]


# -- the gateways' callbacks: their own 400, never a 5xx ---------------------------------------------------------

CALLBACK_BODIES = {**DEEP, **HUGE_NUMBERS}


@pytest.mark.parametrize("body", CALLBACK_BODIES.values(), ids=CALLBACK_BODIES.keys())
def test_a_signed_m2t_notification_too_deep_or_with_a_huge_number_gets_m2t_s_400(dynamodb, frozen, body):
    response = post_m2t(body.encode("utf-8"))
    assert (response["statusCode"], json.loads(response["body"])) == (400, {"status": "INVALID_NOTIFICATION"})


@pytest.mark.parametrize("route", ["inquiry", "confirm"])
@pytest.mark.parametrize("body", CALLBACK_BODIES.values(), ids=CALLBACK_BODIES.keys())
def test_a_signed_fatourati_request_too_deep_or_with_a_huge_number_gets_fatourati_s_400(dynamodb, frozen, route, body):
    response = post_fatourati(route, body.encode("utf-8"))
    assert (response["statusCode"], json.loads(response["body"])) == (400, {"code": "400"})


def test_a_huge_number_in_a_field_the_gateway_may_add_is_still_refused_before_parsing(dynamodb, frozen, logs):
    body = b'{"reference": "123456789012", "extra": ' + b"9" * 5000 + b"}"
    response = post_fatourati("inquiry", body)
    assert (response["statusCode"], json.loads(response["body"])) == (400, {"code": "400"})
    assert "Traceback" not in logs.text()
