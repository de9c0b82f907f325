"""M2T's merchant API (gateways.md, "M2T merchant API", provisional): signed requests as fixed bytes, and answers
believed only when signed within 300 s: every status, an unknown order, a refund done, repeated or refused."""

import json

import pytest

from epay.gateways.common import sign_body
from epay.gateways.m2t_api import (
    M2tNotRefundable,
    M2tOrderStatus,
    M2tRefunded,
    M2tStatus,
    M2tUnknownOrder,
    parse_refund_answer,
    parse_status_answer,
    refund_request,
    status_request,
)
from epay.gateways.protocol import Kind, NoAnswer, NoAnswerReason
from epay.money import Money
from epay.payments import PaymentEvent

SECRET = b"m2t-test-secret"
NOW = 1_768_472_130
ORDER = "PAY-0001"
MERCHANT = "PORTNET-TEST"


# -- requests: fixed bytes and signatures --------------------------------------------------------------------------


def test_status_request_is_the_merchant_and_the_order_signed_now():
    request = status_request(MERCHANT, ORDER, SECRET, NOW)

    assert request.path == "/orders/status"
    assert request.body == b'{"merchant_id":"PORTNET-TEST","order_ref":"PAY-0001"}'
    # Computed once with hmac directly over b"1768472130." + body.
    assert request.headers == {
        "Content-Type": "application/json",
        "X-M2T-Signature": "t=1768472130,v1=c3d341c26cdd7b3c8401143991f57f10116aeee0a4674edf0ad35a78d37b9cea",
    }


def test_refund_request_names_our_refund_id_and_the_amount_in_mad():
    request = refund_request(MERCHANT, ORDER, "PAY-0001-R1", Money.parse("1250.50"), SECRET, NOW)

    assert request.path == "/orders/refund"
    assert request.body == (
        b'{"merchant_id":"PORTNET-TEST","order_ref":"PAY-0001","refund_id":"PAY-0001-R1",'
        b'"amount":"1250.50","currency":"MAD"}'
    )
    assert request.headers["X-M2T-Signature"] == (
        "t=1768472130,v1=2a81bae956578e2ecdc8f0b23909b7f0de549becf7526e5a75bd5dc9accf8ca5"
    )


@pytest.mark.parametrize("order_ref", ["", "PAY 1", "PAY-0001\n", "A" * 65])
def test_an_order_ref_outside_the_payment_id_alphabet_is_refused(order_ref):
    with pytest.raises(ValueError, match="order_ref"):
        status_request(MERCHANT, order_ref, SECRET, NOW)


@pytest.mark.parametrize("refund_id", ["", "R 1", "R/1", "R" * 65])
def test_a_refund_id_outside_its_alphabet_is_refused(refund_id):
    with pytest.raises(ValueError, match="refund_id"):
        refund_request(MERCHANT, ORDER, refund_id, Money(100), SECRET, NOW)


# -- status answers ------------------------------------------------------------------------------------------------


def signed(payload, *, at=NOW, secret=SECRET):
    body = json.dumps(payload).encode("utf-8")
    return body, sign_body(secret, body, at)


def status_payload(status, **changes):
    payload = {
        "order_ref": ORDER,
        "transaction_id": "M2T-TX-9",
        "status": status,
        "amount": "1250.50",
        "currency": "MAD",
        "method": "TASHILAT",
        "reference": "TSH-123456",
        "occurred_at": "2026-01-15T10:15:30Z",
    }
    return {**payload, **changes}


def read_status(payload, status_code=200, **signing):
    body, signature = signed(payload, **signing)
    return parse_status_answer(status_code, body, signature, SECRET, NOW, ORDER)


# status → the notice the same notification would give: kind, how it ends a payment, its error
STATUSES = [
    ("PENDING", None, None, None),
    ("REFERENCE_ISSUED", Kind.REFERENCE, None, None),
    ("PAID", Kind.SUCCESS, None, None),
    ("FAILED", Kind.END, PaymentEvent.GATEWAY_FAILED, "M2T FAILED"),
    ("CANCELLED", Kind.END, PaymentEvent.GATEWAY_CANCELLED, "M2T CANCELLED"),
    ("EXPIRED", Kind.END, PaymentEvent.GATEWAY_EXPIRED, "M2T EXPIRED"),
]


def test_every_status_of_the_contract_has_a_row_here():
    assert [row[0] for row in STATUSES] == [status.value for status in M2tOrderStatus]


@pytest.mark.parametrize(("status", "kind", "end_event", "error"), STATUSES)
def test_each_status_reads_as_the_notification_of_that_status_would(status, kind, end_event, error):
    answer = read_status(status_payload(status))

    assert answer == M2tStatus(
        order_ref=ORDER,
        status=M2tOrderStatus(status),
        transaction_id="M2T-TX-9",
        amount=Money(125050),
        currency="MAD",
        method="TASHILAT",
        reference="TSH-123456",
        occurred_at="2026-01-15T10:15:30Z",
    )
    notice = answer.as_notice()
    if kind is None:
        assert notice is None, "PENDING: nothing to apply yet"
        return
    assert (notice.gateway, notice.payment_id, notice.kind, notice.end_event) == ("M2T", ORDER, kind, end_event)
    assert (notice.amount, notice.currency, notice.currency_ok) == (Money(125050), "MAD", True)
    assert (notice.transaction_id, notice.reference, notice.error) == ("M2T-TX-9", "TSH-123456", error)
    assert notice.fingerprint == "M2T|M2T-TX-9", "the notification's fingerprint for the same transaction"
    assert notice.event is None, "a status answer carries no event id"


def test_an_ending_without_transaction_keeps_a_fingerprint_of_its_own():
    notice = read_status(status_payload("CANCELLED", transaction_id=None)).as_notice()

    assert notice.fingerprint == "M2T|PAY-0001#status:CANCELLED"
    assert notice.transaction_id == ""


def test_an_amount_in_another_currency_is_read_as_it_is_for_the_engine_to_refuse():
    notice = read_status(status_payload("PAID", currency="EUR")).as_notice()

    assert (notice.currency, notice.currency_ok) == ("EUR", False)


def test_a_signed_404_unknown_order_is_an_unknown_order():
    assert read_status({"status": "UNKNOWN_ORDER"}, 404) == M2tUnknownOrder(ORDER)


@pytest.mark.parametrize(
    ("payload", "status_code", "reason"),
    [
        pytest.param({"status": "NOT_FOUND"}, 404, NoAnswerReason.UNREADABLE, id="404-other-status"),
        pytest.param({"status": "OK"}, 500, NoAnswerReason.HTTP_STATUS, id="500"),
        pytest.param({"status": "OK"}, 401, NoAnswerReason.HTTP_STATUS, id="401"),
        pytest.param(status_payload("PAID"), 201, NoAnswerReason.HTTP_STATUS, id="201"),
        pytest.param(status_payload("PAID", order_ref="PAY-0002"), 200, NoAnswerReason.UNREADABLE, id="other-order"),
        pytest.param(status_payload("PAID", transaction_id=None), 200, NoAnswerReason.UNREADABLE, id="paid-no-tx"),
        pytest.param(status_payload("PAID", transaction_id=""), 200, NoAnswerReason.UNREADABLE, id="paid-empty-tx"),
        pytest.param(
            status_payload("REFERENCE_ISSUED", reference=None), 200, NoAnswerReason.UNREADABLE, id="ref-without-ref"
        ),
        pytest.param(status_payload("REFUNDED"), 200, NoAnswerReason.UNREADABLE, id="unknown-status"),
        pytest.param(status_payload("PAID", amount="1250.5"), 200, NoAnswerReason.UNREADABLE, id="amount-format"),
        pytest.param(status_payload("PAID", amount=1250.5), 200, NoAnswerReason.UNREADABLE, id="amount-number"),
        pytest.param([status_payload("PAID")], 200, NoAnswerReason.UNREADABLE, id="a-list"),
    ],
)
def test_a_signed_answer_off_the_contract_is_no_answer(payload, status_code, reason):
    answer = read_status(payload, status_code)

    assert isinstance(answer, NoAnswer)
    assert (answer.gateway, answer.operation, answer.order_id, answer.reason) == ("M2T", "status", ORDER, reason)


def test_a_signed_body_that_is_not_json_is_no_answer():
    body = b"<html>502</html>"

    answer = parse_status_answer(200, body, sign_body(SECRET, body, NOW), SECRET, NOW, ORDER)

    assert answer.reason is NoAnswerReason.UNREADABLE


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="unsigned"),
        pytest.param("", id="empty"),
        pytest.param("t=1768472130,v1=00", id="wrong-mac"),
        pytest.param("garbage", id="garbled"),
    ],
)
@pytest.mark.parametrize("status_code", [200, 404])
def test_an_unsigned_or_wrongly_signed_answer_is_no_answer_whatever_it_says(signature, status_code):
    payload = status_payload("PAID") if status_code == 200 else {"status": "UNKNOWN_ORDER"}
    body = json.dumps(payload).encode("utf-8")

    answer = parse_status_answer(status_code, body, signature, SECRET, NOW, ORDER)

    assert isinstance(answer, NoAnswer)
    assert answer.reason is NoAnswerReason.UNSIGNED


@pytest.mark.parametrize(
    ("at", "secret"),
    [
        pytest.param(NOW - 301, SECRET, id="stale"),
        pytest.param(NOW + 301, SECRET, id="from-the-future"),
        pytest.param(NOW, b"another-secret", id="another-secret"),
    ],
)
def test_a_stale_or_foreign_signature_is_no_answer(at, secret):
    answer = read_status(status_payload("PAID"), at=at, secret=secret)

    assert answer.reason is NoAnswerReason.UNSIGNED


@pytest.mark.parametrize("skew", [-300, 300])
def test_a_signature_within_300_s_either_way_is_believed(skew):
    assert isinstance(read_status(status_payload("PAID"), at=NOW + skew), M2tStatus)


def test_a_signature_of_other_bytes_is_no_answer():
    body, signature = signed(status_payload("FAILED"))
    altered = body.replace(b"FAILED", b"PAID\x20\x20")

    assert parse_status_answer(200, altered, signature, SECRET, NOW, ORDER).reason is NoAnswerReason.UNSIGNED


# -- refund answers ------------------------------------------------------------------------------------------------


def read_refund(payload, status_code=200, refund_id="PAY-0001-R1", **signing):
    body, signature = signed(payload, **signing)
    return parse_refund_answer(status_code, body, signature, SECRET, NOW, ORDER, refund_id)


def test_refunded_names_our_refund_id():
    assert read_refund({"status": "REFUNDED", "refund_id": "PAY-0001-R1"}) == M2tRefunded(ORDER, "PAY-0001-R1")


def test_not_refundable_is_a_signed_409():
    assert read_refund({"status": "NOT_REFUNDABLE"}, 409) == M2tNotRefundable(ORDER, "PAY-0001-R1")


@pytest.mark.parametrize(
    ("payload", "status_code", "reason"),
    [
        pytest.param({"status": "REFUNDED", "refund_id": "PAY-0001-R2"}, 200, NoAnswerReason.UNREADABLE, id="other-id"),
        pytest.param({"status": "REFUNDED"}, 200, NoAnswerReason.UNREADABLE, id="no-refund-id"),
        pytest.param({"status": "NOT_REFUNDABLE"}, 200, NoAnswerReason.UNREADABLE, id="not-refundable-as-200"),
        pytest.param({"status": "REFUNDED", "refund_id": "PAY-0001-R1"}, 409, NoAnswerReason.UNREADABLE, id="409-ok"),
        pytest.param({"status": "UNKNOWN_ORDER"}, 404, NoAnswerReason.HTTP_STATUS, id="404"),
        pytest.param({"status": "REFUNDED", "refund_id": "PAY-0001-R1"}, 502, NoAnswerReason.HTTP_STATUS, id="502"),
    ],
)
def test_a_refund_answer_off_the_contract_is_no_answer(payload, status_code, reason):
    answer = read_refund(payload, status_code)

    assert isinstance(answer, NoAnswer)
    assert (answer.operation, answer.reason) == ("refund", reason)


def test_an_unsigned_refund_answer_is_no_answer():
    body = json.dumps({"status": "REFUNDED", "refund_id": "PAY-0001-R1"}).encode("utf-8")

    answer = parse_refund_answer(200, body, None, SECRET, NOW, ORDER, "PAY-0001-R1")

    assert answer.reason is NoAnswerReason.UNSIGNED


def test_a_stale_refund_answer_is_no_answer():
    answer = read_refund({"status": "REFUNDED", "refund_id": "PAY-0001-R1"}, at=NOW - 301)

    assert answer.reason is NoAnswerReason.UNSIGNED
