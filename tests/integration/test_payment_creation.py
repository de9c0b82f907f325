"""`POST /v1/payments` (api.md §2) through the create_payment function, over moto's DynamoDB."""

import re

import pytest

from epay import runtime
from epay.gateways import cmi, fatourati, m2t
from epay.invoices import InvoiceStatus
from tests.support.factories import an_invoice, put_hold, response_json
from tests.support.payments import (
    CMI_STORE_KEY,
    CODE,
    M2T_SECRET,
    NOW,
    OTHER_CODE,
    PAYER,
    SECRETS,
    cancel_payment,
    given_invoices,
    held_by,
    ids,
    iso,
    payment_request,
    post_payment,
    problem_ids,
    search,
    start_payment,
    stored_invoice,
    stored_payments,
)

PAYMENT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
CREATED_FIELDS = {
    "payment_id",
    "status",
    "amount",
    "currency",
    "gateway",
    "method",
    "issuer",
    "invoice_ids",
    "created_at",
    "expires_at",
    "redirect",
    "reference",
}


@pytest.fixture
def two_invoices(dynamodb, frozen):
    return given_invoices(an_invoice(CODE, amount="1250.50"), an_invoice(CODE, amount="1249.50"))


def problem_of(response, status, code):
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = response_json(response)
    assert problem["code"] == code
    assert problem["status"] == status
    return problem


# -- 201, one per gateway and method --------------------------------------------------------------------------


def test_a_cmi_card_payment_answers_201_with_a_signed_redirect_to_cmi(two_invoices):
    response = post_payment(payment_request(two_invoices, "CMI", "CARD"))
    assert response["statusCode"] == 201
    assert response["headers"]["Cache-Control"] == "no-store"
    created = response_json(response)
    assert set(created) == CREATED_FIELDS
    assert PAYMENT_ID.fullmatch(created["payment_id"])
    assert created["status"] == "PENDING"
    assert (created["amount"], created["currency"]) == ("2500.00", "MAD")
    assert (created["gateway"], created["method"]) == ("CMI", "CARD")
    assert created["issuer"] == {"code": "ANP", "name": "Agence Nationale des Ports"}
    assert created["invoice_ids"] == ids(two_invoices)
    assert created["reference"] is None
    redirect = created["redirect"]
    assert (redirect["method"], redirect["url"]) == ("POST", "https://testpayment.cmi.co.ma/fim/est3Dgate")
    assert cmi.verify(redirect["fields"], CMI_STORE_KEY)


def test_the_cmi_form_carries_the_payment_as_gateways_md_lists_it(two_invoices):
    created = start_payment(two_invoices, "CMI", "CARD", lang="ar")
    fields = created["redirect"]["fields"]
    return_url = f"https://api.example.ma/v1/payments/{created['payment_id']}/return"
    assert fields["clientid"] == "600000000"
    assert fields["storetype"] == "3D_PAY_HOSTING"
    assert fields["TranType"] == "PreAuth"
    assert (fields["amount"], fields["currency"]) == ("2500.00", "504")
    assert fields["oid"] == created["payment_id"]
    assert fields["okUrl"] == fields["failUrl"] == return_url
    assert fields["callbackUrl"] == "https://api.example.ma/v1/callbacks/cmi"
    assert fields["shopurl"] == "https://www.example.ma/e-paiement/"
    assert fields["lang"] == "ar"
    assert 0 < len(fields["rnd"]) <= 20
    assert fields["hashAlgorithm"] == "ver3"
    assert (fields["BillToName"], fields["email"], fields["tel"]) == (PAYER["name"], PAYER["email"], PAYER["phone"])
    assert fields["CallbackResponse"] == "true"


def test_a_cmi_fatourati_payment_issues_a_reference_and_awaits_settlement(two_invoices, frozen):
    response = post_payment(payment_request(two_invoices, "CMI", "FATOURATI"))
    assert response["statusCode"] == 201
    created = response_json(response)
    assert created["status"] == "AWAITING_SETTLEMENT"
    assert created["redirect"] is None
    reference = created["reference"]
    assert re.fullmatch(r"[0-9]{12}", reference["code"])
    assert fatourati.is_valid_reference(reference["code"])
    assert reference["channels"] == ["E-BANKING", "M-BANKING"]
    assert reference["expires_at"] == created["expires_at"] == iso(NOW + 259_200)


@pytest.mark.parametrize("method", ["CARD", "TASHILAT", "DIRECT_DEBIT"])
def test_an_m2t_payment_answers_201_with_a_signed_redirect_to_m2t(two_invoices, method):
    response = post_payment(payment_request(two_invoices, "M2T", method))
    assert response["statusCode"] == 201
    created = response_json(response)
    assert set(created) == CREATED_FIELDS
    assert created["status"] == "PENDING"
    assert (created["gateway"], created["method"], created["amount"]) == ("M2T", method, "2500.00")
    assert created["reference"] is None
    redirect = created["redirect"]
    assert (redirect["method"], redirect["url"]) == ("POST", "https://checkout.m2t.example/checkout")
    fields = redirect["fields"]
    assert m2t.verify_fields(fields, M2T_SECRET)
    assert (fields["order_ref"], fields["method"], fields["amount"]) == (created["payment_id"], method, "2500.00")
    assert fields["notify_url"] == "https://api.example.ma/v1/callbacks/m2t"


def test_the_amount_is_the_exact_sum_of_the_invoices_in_centimes(dynamodb, frozen):
    invoices = given_invoices(*(an_invoice(CODE, amount=amount) for amount in ("0.10", "0.20", "0.05", "999999.99")))
    created = start_payment(invoices)
    assert created["amount"] == "1000000.34"


def test_the_client_cannot_send_the_amount(two_invoices):
    response = post_payment(payment_request(two_invoices, amount="0.01"))
    problem = problem_of(response, 400, "VALIDATION_ERROR")
    assert "amount" in {entry["field"] for entry in problem["errors"]}


def test_a_lower_case_subscription_code_is_the_same_code(two_invoices):
    created = start_payment(two_invoices, code=CODE.lower())
    assert created["invoice_ids"] == ids(two_invoices)


# -- holds and expiry ---------------------------------------------------------------------------------------------


def test_a_redirect_payment_holds_its_invoices_for_the_hold_seconds(dynamodb, monkeypatch, frozen):
    monkeypatch.setenv("EPAY_HOLD_SECONDS", "900")
    runtime.reset()
    invoices = given_invoices(an_invoice(CODE), an_invoice(CODE))
    created = start_payment(invoices, "M2T", "CARD")
    assert created["created_at"] == iso(NOW)
    assert created["expires_at"] == iso(NOW + 900)
    listed = search()
    for invoice in invoices:
        assert listed[invoice.invoice_id]["status"] == "PENDING_PAYMENT"
        assert listed[invoice.invoice_id]["hold_expires_at"] == iso(NOW + 900)


def test_a_redirect_payment_holds_for_1800_seconds_by_default(two_invoices):
    created = start_payment(two_invoices, "CMI", "CARD")
    assert created["expires_at"] == iso(NOW + 1800)


def test_cmis_hosted_session_ends_no_later_than_the_hold(dynamodb, monkeypatch, frozen):
    monkeypatch.setenv("EPAY_HOLD_SECONDS", "900")
    runtime.reset()
    created = start_payment(given_invoices(an_invoice(CODE)), "CMI", "CARD")
    fields = created["redirect"]["fields"]
    assert created["expires_at"] == iso(NOW + 900)
    assert int(fields["sessionTimeout"]) <= 900
    assert fields["sessionTimeout"] == "900"
    assert cmi.verify(fields, CMI_STORE_KEY)


def test_a_reference_payment_holds_its_invoices_for_the_reference_hold_seconds(dynamodb, monkeypatch, frozen):
    monkeypatch.setenv("EPAY_REFERENCE_HOLD_SECONDS", "7200")
    runtime.reset()
    invoices = given_invoices(an_invoice(CODE))
    created = start_payment(invoices, "CMI", "FATOURATI")
    assert created["expires_at"] == created["reference"]["expires_at"] == iso(NOW + 7200)
    assert search()[invoices[0].invoice_id]["hold_expires_at"] == iso(NOW + 7200)


def test_an_unselected_invoice_of_the_same_code_is_not_held(dynamodb, frozen):
    chosen, other = given_invoices(an_invoice(CODE), an_invoice(CODE))
    start_payment([chosen])
    assert search()[other.invoice_id]["status"] == "UNPAID"


# -- validation -----------------------------------------------------------------------------------------------


def test_an_invalid_request_is_a_validation_error_naming_the_field(two_invoices):
    invalid = [
        ({"invoice_ids": []}, "invoice_ids"),
        ({"invoice_ids": [f"inv-{index:04d}" for index in range(51)]}, "invoice_ids"),
        ({"payer": {"name": "Société Maritime"}}, "payer.email"),
        ({"payer": {"email": "compta@example.ma"}}, "payer.name"),
        ({"payer": {"name": "Société Maritime", "email": "pas-un-email"}}, "payer.email"),
        ({"payer": {"name": "Société Maritime", "email": "compta@@example.ma"}}, "payer.email"),
        ({"lang": "de"}, "lang"),
        ({"gateway": "PAYPAL"}, "gateway"),
    ]
    for change, field in invalid:
        problem = problem_of(post_payment(payment_request(two_invoices, **change)), 400, "VALIDATION_ERROR")
        assert field in {entry["field"] for entry in problem["errors"]}, change
    assert stored_payments() == []


def test_the_same_invoice_twice_is_a_validation_error(two_invoices):
    first = two_invoices[0].invoice_id
    response = post_payment(payment_request([first, first]))
    problem_of(response, 400, "VALIDATION_ERROR")
    assert stored_invoice(first).hold is None


def test_a_method_the_gateway_does_not_offer_is_unsupported(two_invoices):
    for gateway, method in [("CMI", "TASHILAT"), ("CMI", "DIRECT_DEBIT"), ("M2T", "FATOURATI")]:
        problem_of(post_payment(payment_request(two_invoices, gateway, method)), 400, "UNSUPPORTED_METHOD")
    assert all(held_by(invoice.invoice_id) is None for invoice in two_invoices)


def test_an_unknown_invoice_and_another_codes_invoice_answer_identically(dynamodb, frozen):
    mine, theirs = given_invoices(an_invoice(CODE), an_invoice(OTHER_CODE))
    unknown = post_payment(payment_request([mine.invoice_id, "inv-doesnotexist"]))
    foreign = post_payment(payment_request([mine.invoice_id, theirs.invoice_id]))
    problem_of(unknown, 404, "INVOICE_NOT_FOUND")
    assert foreign["statusCode"] == unknown["statusCode"]
    assert foreign["body"] == unknown["body"]
    assert foreign["headers"] == unknown["headers"]
    assert held_by(mine.invoice_id) is None
    assert held_by(theirs.invoice_id) is None


def test_invoices_of_two_issuers_cannot_be_paid_together(dynamodb, frozen):
    anp, marsa = given_invoices(an_invoice(CODE, issuer="ANP"), an_invoice(CODE, issuer="MARSA"))
    response = post_payment(payment_request([anp, marsa]))
    problem_of(response, 422, "MIXED_ISSUERS")
    assert held_by(anp.invoice_id) is None
    assert held_by(marsa.invoice_id) is None


def test_a_paid_invoice_is_not_payable_and_is_listed_in_errors(dynamodb, frozen):
    unpaid, paid = given_invoices(an_invoice(CODE), an_invoice(CODE, status=InvoiceStatus.PAID))
    response = post_payment(payment_request([unpaid, paid]))
    problem = problem_of(response, 409, "INVOICE_NOT_PAYABLE")
    assert paid.invoice_id in problem_ids(problem)
    assert unpaid.invoice_id not in problem_ids(problem)


def test_an_invoice_held_by_a_live_payment_is_not_payable_and_is_listed_in_errors(dynamodb, frozen):
    held, free = given_invoices(an_invoice(CODE), an_invoice(CODE))
    first = start_payment([held])
    response = post_payment(payment_request([free, held], "M2T", "CARD"))
    problem = problem_of(response, 409, "INVOICE_NOT_PAYABLE")
    assert held.invoice_id in problem_ids(problem)
    assert free.invoice_id not in problem_ids(problem)
    assert held_by(held.invoice_id) == first["payment_id"]


def test_a_refused_payment_leaves_no_hold_on_any_invoice(dynamodb, frozen):
    free_a, free_b, held = given_invoices(an_invoice(CODE), an_invoice(CODE), an_invoice(CODE))
    start_payment([held])
    response = post_payment(payment_request([free_a, free_b, held]))
    assert response["statusCode"] == 409
    listed = search()
    assert listed[free_a.invoice_id]["status"] == listed[free_b.invoice_id]["status"] == "UNPAID"
    assert held_by(free_a.invoice_id) is None
    assert held_by(free_b.invoice_id) is None
    assert len(stored_payments()) == 1


def test_an_invoice_taken_between_the_checks_and_the_hold_leaves_no_hold_on_the_others(dynamodb, frozen, monkeypatch):
    # Given another payment takes one invoice just after this request read them all as payable
    free, contested = given_invoices(an_invoice(CODE), an_invoice(CODE))
    store = runtime.invoice_store()
    read_invoices = store.get_invoices

    def read_then_lose_the_race(invoice_ids):
        found = read_invoices(invoice_ids)
        put_hold(dynamodb, runtime.invoice_store().table, contested.invoice_id, "PAY-OTHER", NOW + 1800)
        return found

    monkeypatch.setattr(store, "get_invoices", read_then_lose_the_race)
    # When
    response = post_payment(payment_request([free, contested]))
    # Then the whole creation is refused and the free invoice is not held
    problem = problem_of(response, 409, "INVOICE_NOT_PAYABLE")
    assert contested.invoice_id in problem_ids(problem)
    assert held_by(free.invoice_id) is None
    assert held_by(contested.invoice_id) == "PAY-OTHER"
    assert search()[free.invoice_id]["status"] == "UNPAID"
    assert stored_payments() == []


@pytest.mark.parametrize(
    "amounts",
    [("999999999999.99", "999999999999.99"), ("5000000000.00",), ("4999999999.50", "0.01")],
    ids=["two of the largest amounts Money can hold", "one invoice above the payment bound", "one centime over"],
)
def test_stored_amounts_beyond_the_payment_bound_are_refused_not_a_500(dynamodb, frozen, amounts):
    # Given invoices stored beyond the loader's bound (written before it existed, or by another path)
    invoices = given_invoices(*(an_invoice(CODE, amount=amount) for amount in amounts))
    # When the payer selects them
    response = post_payment(payment_request(invoices))
    # Then the selection is refused with a sentence, and nothing is held
    problem = problem_of(response, 400, "VALIDATION_ERROR")
    assert problem["errors"] == [{"field": "invoice_ids", "message": "montant total supérieur à 4999999999.50 MAD"}]
    assert all(held_by(invoice.invoice_id) is None for invoice in invoices)
    assert stored_payments() == []


def test_a_payment_at_the_bound_is_accepted(dynamodb, frozen):
    invoices = given_invoices(an_invoice(CODE, amount="4999999999.49"), an_invoice(CODE, amount="0.01"))
    created = start_payment(invoices)
    assert created["amount"] == "4999999999.50"
    assert created["redirect"]["fields"]["amount"] == "4999999999.50"


# -- Idempotency-Key ------------------------------------------------------------------------------------------


def test_the_same_key_and_body_return_the_first_payment_and_hold_once(two_invoices):
    body = payment_request(two_invoices)
    first = post_payment(body, idempotency_key="order-42")
    again = post_payment(body, idempotency_key="order-42")
    assert first["statusCode"] == again["statusCode"] == 201
    assert response_json(again) == response_json(first)
    payment_id = response_json(first)["payment_id"]
    assert len(stored_payments()) == 1
    assert [held_by(invoice.invoice_id) for invoice in two_invoices] == [payment_id, payment_id]


def test_the_same_key_with_another_body_is_refused(two_invoices):
    post_payment(payment_request(two_invoices), idempotency_key="order-42")
    response = post_payment(payment_request(two_invoices, lang="en"), idempotency_key="order-42")
    problem_of(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(stored_payments()) == 1


def test_another_key_is_another_request(two_invoices):
    post_payment(payment_request(two_invoices), idempotency_key="order-42")
    response = post_payment(payment_request(two_invoices), idempotency_key="order-43")
    problem_of(response, 409, "INVOICE_NOT_PAYABLE")


def test_a_refusal_is_not_kept_for_the_key(two_invoices):
    # Given the invoices are held, so the keyed request is refused
    blocking = start_payment(two_invoices, "M2T", "CARD")
    body = payment_request(two_invoices)
    problem_of(post_payment(body, idempotency_key="retry-me"), 409, "INVOICE_NOT_PAYABLE")
    # When the hold is released and the same request is sent with the same key
    assert cancel_payment(blocking["payment_id"])["statusCode"] == 200
    response = post_payment(body, idempotency_key="retry-me")
    # Then it is served afresh
    assert response["statusCode"] == 201
    assert held_by(two_invoices[0].invoice_id) == response_json(response)["payment_id"]


def test_an_idempotency_key_longer_than_255_characters_is_invalid(two_invoices):
    response = post_payment(payment_request(two_invoices), idempotency_key="k" * 256)
    problem_of(response, 400, "VALIDATION_ERROR")
    assert stored_payments() == []


# -- rate limit -----------------------------------------------------------------------------------------------


def test_too_many_payments_from_one_address_answer_429_with_retry_after(dynamodb, monkeypatch, frozen):
    monkeypatch.setenv("EPAY_PAYMENT_LIMIT_PER_MINUTE", "2")
    runtime.reset()
    invoices = given_invoices(an_invoice(CODE), an_invoice(CODE), an_invoice(CODE), an_invoice(CODE))
    answers = [post_payment(payment_request([invoice]), source_ip="198.51.100.7") for invoice in invoices[:3]]
    assert [answer["statusCode"] for answer in answers] == [201, 201, 429]
    problem_of(answers[-1], 429, "RATE_LIMITED")
    assert 1 <= int(answers[-1]["headers"]["Retry-After"]) <= 60
    assert held_by(invoices[2].invoice_id) is None
    assert post_payment(payment_request([invoices[3]]), source_ip="198.51.100.8")["statusCode"] == 201


# -- what is never written out --------------------------------------------------------------------------------


def test_logs_never_contain_the_code_the_payer_or_the_secrets(two_invoices, logs):
    start_payment([two_invoices[0]], "CMI", "CARD")
    start_payment([two_invoices[1]], "M2T", "CARD")
    post_payment(payment_request(two_invoices))
    post_payment(payment_request(two_invoices, amount="1.00"))
    assert logs.lines()
    text = logs.text()
    assert CODE.lower() not in text.lower()
    for secret in SECRETS:
        assert secret not in text
