"""`POST /v1/invoices/search` through the real handler, with payload 2.0 events, over moto's DynamoDB."""

import json

import pytest

import list_invoices_handler as handler
from epay.invoices import InvoiceStatus
from tests.support.altcha_solver import solve
from tests.support.factories import FakeLambdaContext, an_invoice, http_event, many_invoices, put_hold, response_json

NOW = 1_795_000_000


def search(body=None, **event_options):
    event = http_event("POST", "/v1/invoices/search", body=body, **event_options)
    return handler.lambda_handler(event, FakeLambdaContext())


@pytest.fixture
def loaded(invoice_store):
    def load(*invoices):
        for invoice in invoices:
            invoice_store.upsert_invoice(invoice, NOW)
        return invoices

    return load


def test_unpaid_invoices_are_listed_with_the_contract_fields(loaded):
    (invoice,) = loaded(an_invoice("AB12", number="F-2026-000123", amount="1250.50"))
    response = search({"subscription_code": "ab12"})
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response_json(response) == {
        "items": [
            {
                "invoice_id": invoice.invoice_id,
                "invoice_number": "F-2026-000123",
                "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
                "issue_date": "2026-01-15",
                "due_date": "2026-02-14",
                "amount": "1250.50",
                "currency": "MAD",
                "description": "Droits de port, escale 2026/1234",
                "status": "UNPAID",
                "hold_expires_at": None,
            }
        ],
        "next_cursor": None,
    }


def test_an_unknown_code_and_a_code_with_nothing_unpaid_answer_identically(loaded):
    loaded(an_invoice("NUL0", status=InvoiceStatus.PAID))
    unknown, settled = search({"subscription_code": "ZZ99"}), search({"subscription_code": "NUL0"})
    assert unknown["statusCode"] == settled["statusCode"] == 200
    assert unknown["body"] == settled["body"] == json.dumps({"items": [], "next_cursor": None}, separators=(",", ":"))
    assert unknown["headers"] == settled["headers"]


def test_a_live_hold_shows_as_pending_payment_until_it_expires(loaded, dynamodb):
    held, lapsed = loaded(an_invoice("AB12", number="HELD"), an_invoice("AB12", number="LAPSED"))
    put_hold(dynamodb, "epay-test", held.invoice_id, "pay-1", 4_000_000_000)
    put_hold(dynamodb, "epay-test", lapsed.invoice_id, "pay-2", NOW - 1)
    items = {item["invoice_number"]: item for item in response_json(search({"subscription_code": "AB12"}))["items"]}
    assert items["HELD"]["status"] == "PENDING_PAYMENT"
    assert items["HELD"]["hold_expires_at"] == "2096-10-02T07:06:40Z"
    assert items["LAPSED"]["status"] == "UNPAID"
    assert items["LAPSED"]["hold_expires_at"] is None


def test_a_30_invoice_code_walked_page_by_page_returns_each_invoice_once_in_order(loaded):
    invoices = loaded(*many_invoices("MAR1", 34), an_invoice("MAR1", status=InvoiceStatus.PAID, number="PAID-1"))
    seen, cursor, pages = [], None, 0
    while True:
        body = response_json(search({"subscription_code": "MAR1", "cursor": cursor}))
        pages += 1
        assert body["items"], "a page is never empty unless the whole result is"
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    unpaid = sorted((i for i in invoices if i.status is InvoiceStatus.UNPAID), key=lambda i: i.position)
    assert [item["invoice_id"] for item in seen] == [i.invoice_id for i in unpaid]
    assert pages == 4


@pytest.mark.parametrize(
    "filters",
    [
        {"issuer": "marsa"},
        {"issued_from": "2026-03-01", "issued_to": "2026-06-30"},
        {"issuer": "TMSA", "issued_from": "2026-02-01"},
        {"issuer": "ANP", "issued_to": "2026-05-01"},
        {"min_amount": "1000.00", "max_amount": "5000.00"},
        {"text": "CONTENEURS"},
        {"issuer": "ANP", "issued_from": "2026-01-01", "min_amount": "100.00", "text": "escale"},
    ],
)
def test_filtered_walks_return_each_match_once_in_order(loaded, filters):
    invoices = loaded(*many_invoices("MAR1", 60))
    from epay.lookup import criteria_from
    from epay.schemas import SearchRequest

    criteria = criteria_from(SearchRequest.model_validate({"subscription_code": "MAR1", "filters": filters}))
    expected = sorted((i for i in invoices if criteria.matches(i)), key=lambda i: i.position)
    assert expected, "the data set must exercise the filter"
    seen, cursor = [], None
    while True:
        body = response_json(
            search({"subscription_code": "MAR1", "filters": filters, "page_size": 4, "cursor": cursor})
        )
        assert body["items"] or not seen
        seen += [item["invoice_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [i.invoice_id for i in expected]


def test_the_invoice_number_filter_finds_exactly_that_invoice(loaded):
    loaded(*many_invoices("MAR1", 20))
    body = response_json(search({"subscription_code": "MAR1", "invoice_number": "N-00013"}))
    assert [item["invoice_number"] for item in body["items"]] == ["N-00013"]
    assert body["next_cursor"] is None


def test_a_cursor_replayed_with_another_code_is_refused(loaded):
    loaded(*many_invoices("MAR1", 15), *many_invoices("AB12", 15))
    cursor = response_json(search({"subscription_code": "MAR1"}))["next_cursor"]
    response = search({"subscription_code": "AB12", "cursor": cursor})
    assert response["statusCode"] == 400
    assert response_json(response)["code"] == "INVALID_CURSOR"


def test_a_cursor_replayed_with_other_filters_is_refused(loaded):
    loaded(*many_invoices("MAR1", 15))
    cursor = response_json(search({"subscription_code": "MAR1"}))["next_cursor"]
    response = search({"subscription_code": "MAR1", "filters": {"issuer": "ANP"}, "cursor": cursor})
    assert response_json(response)["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("code", ["AB1", "AB123", "AB 1", "AB-1", "ÀB12", "' OR 1=1 --", {"$ne": None}, None])
def test_a_malformed_code_is_a_400_problem(dynamodb, code):
    response = search({"subscription_code": code})
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = response_json(response)
    assert problem["code"] == "INVALID_SUBSCRIPTION_CODE"
    assert problem["status"] == 400
    assert {"type", "title", "detail"} <= problem.keys()
    assert problem["errors"][0]["field"] == "subscription_code"


def test_a_bad_filter_is_a_validation_error_naming_the_field(dynamodb):
    problem = response_json(search({"subscription_code": "AB12", "filters": {"min_amount": "12,50"}}))
    assert problem["code"] == "VALIDATION_ERROR"
    assert problem["errors"] == [{"field": "filters.min_amount", "message": "format invalide"}]


@pytest.mark.parametrize(
    ("raw", "options"),
    [
        (b"{not json", {}),
        (b'{"subscription_code": "\xff\xfe12"}', {"base64_body": True}),
        (b"[]", {}),
        (b'"AB12"', {}),
    ],
)
def test_unreadable_bodies_are_validation_errors(dynamodb, raw, options):
    response = search(raw_body=raw, **options)
    assert response["statusCode"] == 400
    assert response_json(response)["code"] == "VALIDATION_ERROR"


def test_a_json_body_sent_as_curl_form_default_is_read_as_json(loaded):
    loaded(an_invoice("AB12"))
    raw = json.dumps({"subscription_code": "AB12"}).encode()
    response = search(raw_body=raw, base64_body=True, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response["statusCode"] == 200
    assert len(response_json(response)["items"]) == 1


def test_other_content_types_are_refused_with_415(dynamodb):
    response = search(raw_body=b"<x/>", headers={"content-type": "application/xml"})
    assert response["statusCode"] == 415
    assert response_json(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_an_oversized_body_is_refused_before_parsing(dynamodb):
    response = search(raw_body=b'{"subscription_code": "AB12", "pad": "' + b"x" * 20_000 + b'"}')
    assert response["statusCode"] == 413
    assert response_json(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_the_limit_per_address_answers_429_with_retry_after(loaded, monkeypatch):
    monkeypatch.setenv("EPAY_LOOKUP_LIMIT_PER_MINUTE", "3")
    from epay import runtime

    runtime.reset()
    answers = [search({"subscription_code": "AB12"}, source_ip="198.51.100.7") for _ in range(4)]
    assert [answer["statusCode"] for answer in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1]["headers"]["Retry-After"]) <= 60
    assert response_json(answers[-1])["code"] == "RATE_LIMITED"
    assert search({"subscription_code": "AB12"}, source_ip="198.51.100.8")["statusCode"] == 200


def test_an_address_that_keeps_finding_nothing_is_challenged_on_every_lookup_whatever_the_code(loaded, monkeypatch):
    # api.md §8 (v1.1): past the miss budget a challenge, no longer a refusal until the hour ends.
    monkeypatch.setenv("EPAY_LOOKUP_MISSES_PER_HOUR", "3")
    from epay import runtime

    runtime.reset()
    loaded(an_invoice("AB12"), an_invoice("NUL0", status=InvoiceStatus.PAID))
    misses = [search({"subscription_code": code}, source_ip="198.51.100.9") for code in ("ZZ91", "NUL0", "ZZ93")]
    assert [miss["statusCode"] for miss in misses] == [200, 200, 200]
    # Past the budget even a code with unpaid invoices is challenged: the challenge says nothing about codes.
    refused = search({"subscription_code": "AB12"}, source_ip="198.51.100.9")
    assert refused["statusCode"] == 429
    assert refused["headers"]["Content-Type"] == "application/problem+json"
    assert response_json(refused)["code"] == "CHALLENGE_REQUIRED"
    assert "Retry-After" not in refused["headers"]
    assert search({"subscription_code": "AB12"}, source_ip="198.51.100.10")["statusCode"] == 200


def challenge_after_misses(monkeypatch, address, misses_per_proof="2"):
    monkeypatch.setenv("EPAY_LOOKUP_MISSES_PER_HOUR", "1")
    monkeypatch.setenv("EPAY_LOOKUP_MISSES_PER_PROOF", misses_per_proof)
    monkeypatch.setenv("EPAY_LOOKUP_CHALLENGE_MAX_NUMBER", "5000")
    from epay import runtime

    runtime.reset()
    assert search({"subscription_code": "ZZ91"}, source_ip=address)["statusCode"] == 200
    refused = search({"subscription_code": "ZZ92"}, source_ip=address)
    assert refused["statusCode"] == 429
    return response_json(refused)["challenge"]


def test_a_solved_challenge_is_accepted_once_then_its_proof_is_no_proof(loaded, monkeypatch, dynamodb):
    loaded(an_invoice("AB12"))
    address = "198.51.100.20"
    challenge = challenge_after_misses(monkeypatch, address)
    assert set(challenge) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    proof = solve(challenge)
    assert search({"subscription_code": "ZZ93", "proof": proof}, source_ip=address)["statusCode"] == 200
    assert search({"subscription_code": "ZZ94"}, source_ip=address)["statusCode"] == 200
    reused = search({"subscription_code": "AB12", "proof": proof}, source_ip=address)
    assert (reused["statusCode"], response_json(reused)["code"]) == (429, "CHALLENGE_REQUIRED")
    # The record of the redeemed proof expires by TTL (the rate-limit table's `expires_at`) with its challenge.
    items = dynamodb.scan(TableName="epay-test-rate-limits")["Items"]
    (record,) = [item for item in items if item["pk"]["S"].startswith("proof#")]
    expires = int(challenge["salt"].split("expires=")[1].split("&")[0])
    assert int(record["expires_at"]["N"]) == expires + 60
    assert challenge["challenge"] not in record["pk"]["S"]


def test_a_forged_proof_counts_as_no_proof(loaded, monkeypatch):
    loaded(an_invoice("AB12"))
    address = "198.51.100.21"
    challenge = challenge_after_misses(monkeypatch, address)
    forged = solve({**challenge, "signature": "0" * 64})
    refused = search({"subscription_code": "AB12", "proof": forged}, source_ip=address)
    assert (refused["statusCode"], response_json(refused)["code"]) == (429, "CHALLENGE_REQUIRED")


def dynamodb_calls():
    """The DynamoDB operations the service sends from now on, in order."""
    from epay import runtime

    calls = []
    runtime.dynamodb().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def test_a_lookup_is_charged_before_it_reads_and_a_refused_one_reads_no_invoice(loaded, monkeypatch):
    monkeypatch.setenv("EPAY_LOOKUP_LIMIT_PER_MINUTE", "1")
    from epay import runtime

    runtime.reset()
    loaded(an_invoice("AB12"))
    calls = dynamodb_calls()
    assert search({"subscription_code": "AB12"}, source_ip="198.51.100.11")["statusCode"] == 200
    assert calls == ["UpdateItem", "Query"]
    calls.clear()
    refused = search({"subscription_code": "AB12"}, source_ip="198.51.100.11")
    assert refused["statusCode"] == 429
    assert calls == ["UpdateItem"], "the refusal is decided by the rate-limit counter alone"


def test_past_the_miss_budget_the_refusal_comes_before_any_invoice_read(loaded, monkeypatch):
    monkeypatch.setenv("EPAY_LOOKUP_MISSES_PER_HOUR", "1")
    from epay import runtime

    runtime.reset()
    loaded(an_invoice("AB12"))
    calls = dynamodb_calls()
    assert search({"subscription_code": "ZZ91"}, source_ip="198.51.100.12")["statusCode"] == 200
    assert calls == ["UpdateItem", "Query", "UpdateItem"], "a miss is recorded after the read that found nothing"
    for code in ("AB12", "ZZ92"):
        calls.clear()
        assert search({"subscription_code": code}, source_ip="198.51.100.12")["statusCode"] == 429
        assert calls == ["UpdateItem"]


def test_an_unknown_route_is_a_problem(dynamodb):
    event = http_event("GET", "/v1/nothing-here")
    response = handler.lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 404
    assert response_json(response)["code"] == "NOT_FOUND"


def test_the_openapi_document_is_served(dynamodb):
    response = handler.lambda_handler(http_event("GET", "/v1/openapi.json"), FakeLambdaContext())
    document = response_json(response)
    assert document["openapi"].startswith("3.")
    assert "/v1/invoices/search" in document["paths"]


def test_logs_never_contain_the_subscription_code(loaded, logs):
    loaded(*many_invoices("QX7Z", 12))
    search({"subscription_code": "qx7z"})
    search({"subscription_code": "QX7Z", "filters": {"bogus": "QX7Z"}})
    search({"subscription_code": "QX7Z", "cursor": "forged"})
    search(raw_body=b'{"subscription_code": "QX7Z", "QX7Z": 1}')
    assert len(logs.lines()) >= 4, "every lookup and refusal is logged"
    assert "QX7Z" not in logs.text()
    assert "qx7z" not in logs.text()
