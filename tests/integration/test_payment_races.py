"""Concurrent requests against one DynamoDB, each from a Lambda container of its own (each request atomic, as in
DynamoDB).

Every container is a process of its own (tests/support/containers.py): Powertools keeps the request being resolved
once per process, as Lambda runs one request per container, so concurrent requests need concurrent processes. The
calls are released together from threads of the test, each waiting on its own container (the `containers`
fixture, tests/conftest.py).
"""

import json
from itertools import combinations

from epay.invoices import InvoiceStatus
from tests.support.containers import all_at_once
from tests.support.factories import an_invoice, response_json
from tests.support.payments import (
    CODE,
    cancel_payment,
    cmi_callback,
    confirmation,
    given_invoices,
    held_by,
    payment,
    payment_request,
    post_cmi,
    post_fatourati,
    post_payment,
    start_payment,
    stored_invoice,
    stored_payments,
)

# Five subscription codes, for tests that need five live payments at once.
CODES = [f"RC{index:02d}" for index in range(5)]


def test_concurrent_payments_for_overlapping_invoices_never_hold_an_invoice_twice(containers, frozen):
    # Given ten invoices, and twenty requests each wanting three of them, every invoice wanted by several
    invoices = given_invoices(*(an_invoice(CODE, amount=f"{100 + index}.00") for index in range(10)))
    wanted = [[invoices[(k + step) % 10] for step in (0, 1, 3)] for k in range(20)]
    handlers = containers("POST", "/v1/payments", 20)
    calls = [
        lambda k=k: post_payment(payment_request(wanted[k]), source_ip=f"198.51.100.{k + 1}", handler=handlers[k])
        for k in range(20)
    ]
    # When they all arrive at once
    responses = all_at_once(calls)
    assert containers.ran_at_once(handlers)
    # Then each answer is a payment or a refusal because another payment holds one of the invoices
    assert {response["statusCode"] for response in responses} <= {201, 409}
    created = [response_json(response) for response in responses if response["statusCode"] == 201]
    refused = [k for k, response in enumerate(responses) if response["statusCode"] == 409]
    assert created, "at least one request gets the invoices"
    assert len(stored_payments()) == len(created)
    for payment_created in created:
        assert [held_by(invoice_id) for invoice_id in payment_created["invoice_ids"]] == [
            payment_created["payment_id"]
        ] * 3
    for first, second in combinations(created, 2):
        assert not set(first["invoice_ids"]) & set(second["invoice_ids"])
    holders = {payment_created["payment_id"] for payment_created in created}
    for invoice in invoices:
        assert held_by(invoice.invoice_id) in holders | {None}
    for k in refused:
        assert response_json(responses[k])["code"] == "INVOICE_NOT_PAYABLE"
        assert any(held_by(invoice.invoice_id) in holders for invoice in wanted[k])


def test_concurrent_identical_cmi_successes_settle_the_payment_exactly_once(containers, frozen):
    # Given a card payment, and CMI posting its success ten times at once
    invoices = given_invoices(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="20.50"))
    created = start_payment(invoices, "CMI", "CARD")
    fields = cmi_callback(created)
    handlers = containers("POST", "/v1/callbacks/cmi", 10)
    # When
    responses = all_at_once([lambda handler=handler: post_cmi(fields, handler=handler) for handler in handlers])
    assert containers.ran_at_once(handlers)
    # Then every post gets the same answer, and the payment is settled once
    assert {(response["statusCode"], response["body"]) for response in responses} == {(200, "ACTION=POSTAUTH")}
    assert payment(created["payment_id"])["status"] == "PAID"
    for invoice in invoices:
        stored = stored_invoice(invoice.invoice_id)
        assert (stored.status, stored.paid_by) == (InvoiceStatus.PAID, created["payment_id"])
    lines = containers.log_lines()
    outcomes = [json.loads(line).get("outcome") for line in lines if '"message":"callback applied"' in line]
    assert len(outcomes) == 10
    assert outcomes.count("settled") == 1


def test_concurrent_requests_with_one_idempotency_key_create_at_most_one_payment(containers, frozen):
    invoices = given_invoices(an_invoice(CODE), an_invoice(CODE))
    body = payment_request(invoices)
    handlers = containers("POST", "/v1/payments", 5)
    responses = all_at_once(
        [lambda handler=handler: post_payment(body, idempotency_key="order-7", handler=handler) for handler in handlers]
    )
    assert containers.ran_at_once(handlers)
    created = {response_json(response)["payment_id"] for response in responses if response["statusCode"] == 201}
    assert len(created) == 1
    assert len(stored_payments()) == 1
    assert [held_by(invoice.invoice_id) for invoice in invoices] == [next(iter(created))] * 2


def test_a_cancel_racing_a_cmi_success_always_ends_paid(containers, frozen):
    # Given five card payments, each cancelled by its payer while CMI reports it approved
    # (one code each: a code has at most EPAY_LIVE_PAYMENTS_PER_CODE live payments)
    payments = [
        start_payment(given_invoices(an_invoice(code, amount="10.00")), "CMI", "CARD", code=code) for code in CODES
    ]
    cancellers = containers("POST", "/v1/payments/{payment_id}/cancel", 5)
    callbacks = containers("POST", "/v1/callbacks/cmi", 5)
    calls = []
    for created, cancel_handler, callback_handler in zip(payments, cancellers, callbacks, strict=True):
        fields = cmi_callback(created)
        calls.append(lambda fields=fields, handler=callback_handler: post_cmi(fields, handler=handler))
        calls.append(
            lambda created=created, handler=cancel_handler: cancel_payment(created["payment_id"], handler=handler)
        )
    # When
    responses = all_at_once(calls)
    assert containers.ran_at_once(cancellers + callbacks)
    # Then CMI's capture is always confirmed and the payer did pay: every payment ends PAID with its invoice
    for index, created in enumerate(payments):
        callback, cancel = responses[2 * index], responses[2 * index + 1]
        assert (callback["statusCode"], callback["body"]) == (200, "ACTION=POSTAUTH")
        assert cancel["statusCode"] in (200, 409)
        assert payment(created["payment_id"])["status"] == "PAID"
        (invoice_id,) = created["invoice_ids"]
        assert stored_invoice(invoice_id).paid_by == created["payment_id"]


def test_a_late_success_racing_a_new_payment_never_lets_both_have_the_invoices(containers, frozen):
    # Given five card payments whose holds lapsed
    lapsed = [
        start_payment(given_invoices(an_invoice(code, amount="10.00")), "CMI", "CARD", code=code) for code in CODES
    ]
    frozen.advance(1800)
    creators = containers("POST", "/v1/payments", 5)
    callbacks = containers("POST", "/v1/callbacks/cmi", 5)
    calls = []
    for index, created in enumerate(lapsed):
        fields = cmi_callback(created)
        body = payment_request(created["invoice_ids"], "M2T", "CARD", code=CODES[index])
        calls.append(lambda fields=fields, handler=callbacks[index]: post_cmi(fields, handler=handler))
        calls.append(lambda body=body, handler=creators[index]: post_payment(body, handler=handler))
    # When each one's late CMI success races a new payment for the same invoice
    responses = all_at_once(calls)
    assert containers.ran_at_once(creators + callbacks)
    # Then either the late success settled and the new payment was refused, or the new payment holds the invoice
    # and the late success was not captured
    for index, created in enumerate(lapsed):
        callback, creation = responses[2 * index], responses[2 * index + 1]
        (invoice_id,) = created["invoice_ids"]
        if callback["body"] == "ACTION=POSTAUTH":
            assert creation["statusCode"] == 409
            assert payment(created["payment_id"])["status"] == "PAID"
            assert stored_invoice(invoice_id).paid_by == created["payment_id"]
        else:
            assert (callback["statusCode"], callback["body"]) == (200, "APPROVED")
            assert creation["statusCode"] == 201
            assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"
            assert held_by(invoice_id) == response_json(creation)["payment_id"]
            assert stored_invoice(invoice_id).status is InvoiceStatus.UNPAID


def test_concurrent_confirmations_of_one_reference_apply_exactly_one(containers, frozen):
    invoices = given_invoices(an_invoice(CODE, amount="300.00"))
    created = start_payment(invoices, "CMI", "FATOURATI")
    reference = created["reference"]["code"]
    handlers = containers("POST", "/v1/callbacks/fatourati/confirm", 6)
    bodies = [confirmation(reference, "300.00", transaction_id=f"FTR-{index}") for index in range(6)]
    responses = all_at_once(
        [
            lambda body=body, handler=handler: post_fatourati("confirm", body, handler=handler)
            for body, handler in zip(bodies, handlers, strict=True)
        ]
    )
    assert containers.ran_at_once(handlers)
    answers = sorted((response["statusCode"], json.loads(response["body"])["code"]) for response in responses)
    assert answers == [(200, "000")] + [(410, "410")] * 5
    view = payment(created["payment_id"])
    winner = next(
        body["transaction_id"] for body, answer in zip(bodies, responses, strict=True) if answer["statusCode"] == 200
    )
    assert (view["status"], view["gateway_transaction_id"]) == ("PAID", winner)
    assert stored_invoice(invoices[0].invoice_id).paid_by == created["payment_id"]
