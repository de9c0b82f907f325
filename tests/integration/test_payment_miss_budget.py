"""`POST /v1/payments` and ids that a listing never gave (issue 9, item 8): a per-address budget of misses.

A payer only names ids a listing gave it. A request naming an id that is unknown or of another code is a guess —
a code tried against a known id (`201`/`409` would say "right code", `404` "wrong code"), or ids tried against a
code — and spends the address's hourly budget (`EPAY_PAYMENT_MISSES_PER_HOUR`). Past it, every payment request from
the address is answered `429 RATE_LIMITED` until the hour ends, whatever it names, so the refusal is no oracle.
"""

import pytest

from epay import runtime
from epay.invoices import InvoiceStatus
from tests.support.factories import an_invoice, response_json
from tests.support.payments import (
    CODE,
    NOW,
    OTHER_CODE,
    given_invoices,
    held_by,
    payment_request,
    post_payment,
)

ATTACKER = "203.0.113.66"
HOUR_END = (NOW // 3600 + 1) * 3600


@pytest.fixture(autouse=True)
def a_budget_of_three_misses(dynamodb, monkeypatch):
    monkeypatch.setenv("EPAY_PAYMENT_MISSES_PER_HOUR", "3")
    monkeypatch.setenv("EPAY_PAYMENT_LIMIT_PER_MINUTE", "1000")
    runtime.reset()


def status_of(response):
    return response["statusCode"]


def spend_the_budget(ids, address=ATTACKER):
    answers = [post_payment(payment_request(ids), source_ip=address) for _ in range(3)]
    assert [status_of(answer) for answer in answers] == [404, 404, 404]


def test_past_the_miss_budget_a_valid_payment_from_the_address_is_refused_until_the_hour_ends(frozen):
    (invoice,) = given_invoices(an_invoice(CODE))
    spend_the_budget(["inv-doesnotexist"])
    refused = post_payment(payment_request([invoice]), source_ip=ATTACKER)
    assert status_of(refused) == 429
    assert response_json(refused)["code"] == "RATE_LIMITED"
    assert int(refused["headers"]["Retry-After"]) == HOUR_END - NOW
    assert held_by(invoice.invoice_id) is None
    frozen.advance(HOUR_END - NOW)
    assert status_of(post_payment(payment_request([invoice]), source_ip=ATTACKER)) == 201


def test_past_the_budget_a_right_guess_and_a_wrong_one_get_the_same_answer(frozen):
    (invoice,) = given_invoices(an_invoice(CODE))
    spend_the_budget(["inv-doesnotexist"])
    right_code = post_payment(payment_request([invoice], code=CODE), source_ip=ATTACKER)
    wrong_code = post_payment(payment_request([invoice], code=OTHER_CODE), source_ip=ATTACKER)
    assert status_of(right_code) == status_of(wrong_code) == 429
    assert right_code["body"] == wrong_code["body"]
    assert right_code["headers"] == wrong_code["headers"]


def test_trying_codes_against_a_known_invoice_id_spends_the_budget(frozen):
    (invoice,) = given_invoices(an_invoice(CODE))
    guesses = [
        post_payment(payment_request([invoice], code=code), source_ip=ATTACKER) for code in ("AAA1", "AAA2", "AAA3")
    ]
    assert [status_of(guess) for guess in guesses] == [404, 404, 404]
    assert status_of(post_payment(payment_request([invoice], code=CODE), source_ip=ATTACKER)) == 429
    assert held_by(invoice.invoice_id) is None


def test_another_address_keeps_its_own_budget(frozen):
    (invoice,) = given_invoices(an_invoice(CODE))
    spend_the_budget(["inv-doesnotexist"])
    assert status_of(post_payment(payment_request([invoice]), source_ip="198.51.100.20")) == 201


def test_a_payer_whose_listed_invoice_was_paid_meanwhile_still_gets_409_and_spends_no_budget(frozen):
    paid, free = given_invoices(an_invoice(CODE, status=InvoiceStatus.PAID), an_invoice(CODE))
    answers = [post_payment(payment_request([paid]), source_ip=ATTACKER) for _ in range(5)]
    assert [status_of(answer) for answer in answers] == [409] * 5
    assert response_json(answers[0])["code"] == "INVOICE_NOT_PAYABLE"
    assert status_of(post_payment(payment_request([free]), source_ip=ATTACKER)) == 201
