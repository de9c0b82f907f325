"""M2T (AmanPay): the canonical string and signature of the checkout form, the form itself, and notifications."""

import json
from dataclasses import replace

import pytest

from epay.gateways.common import Checkout, Endpoints, sign_body
from epay.gateways.m2t import (
    InvalidNotification,
    M2tSettings,
    canonical,
    parse_notification,
    payment_form,
    sign_fields,
    verify_fields,
    verify_notification,
)
from epay.money import Money

SECRET = b"m2t-test-secret"
SETTINGS = M2tSettings(merchant_id="M2T-000042", secret=SECRET, gateway_url="https://checkout.m2t.example/pay")
ENDPOINTS = Endpoints(public_api_url="https://api.portnet.example", frontend_url="https://portal.portnet.example")
RETURN_URL = "https://api.portnet.example/v1/payments/PAY-0001/return"

# Percent-encoded by hand (RFC 3986, UTF-8); names in byte order, so "Zone" comes before lower-case names.
FIELDS = {
    "signature": "ignored",
    "customer_name": "Société Générale & Fils",
    "note": "a b+c/d",
    "reserved": ":/?#[]@!$&'()*+,;=%",
    "unreserved": "AZaz09-._~",
    "ville": "الدار البيضاء",
    "Zone": "Z",
}
CANONICAL = (
    "Zone=Z"
    "&customer_name=Soci%C3%A9t%C3%A9%20G%C3%A9n%C3%A9rale%20%26%20Fils"
    "&note=a%20b%2Bc%2Fd"
    "&reserved=%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25"
    "&unreserved=AZaz09-._~"
    "&ville=%D8%A7%D9%84%D8%AF%D8%A7%D8%B1%20%D8%A7%D9%84%D8%A8%D9%8A%D8%B6%D8%A7%D8%A1"
)
# Computed once with hmac directly over CANONICAL.
SIGNATURE = "a92f8a72c6b150c74005a4046fbb7604c30cfd32f458c9f3b9dcc93b6b11617e"


def a_checkout(**changes):
    checkout = Checkout(
        payment_id="PAY-0001",
        amount=Money.parse("1250.50"),
        method="TASHILAT",
        lang="ar",
        payer_name="Société Maritime",
        payer_email="compta@example.ma",
        payer_phone="",
        session_seconds=1800,
    )
    return replace(checkout, **changes)


def a_notification(**changes):
    notification = {
        "event_id": "evt-0001",
        "order_ref": "PAY-0001",
        "transaction_id": "M2T-TX-9",
        "status": "PAID",
        "amount": "1250.50",
        "currency": "MAD",
        "method": "TASHILAT",
        "reference": "TSH-123456",
        "occurred_at": "2026-01-15T10:15:30Z",
    }
    return json.dumps(notification | changes).encode("utf-8")


def test_canonical_string_encodes_values_and_sorts_names_by_bytes():
    assert canonical(FIELDS) == CANONICAL


def test_signature_is_the_hex_hmac_of_the_canonical_string():
    assert sign_fields(FIELDS, SECRET) == SIGNATURE


def test_canonical_string_leaves_the_signature_out():
    assert canonical(FIELDS | {"signature": "anything else"}) == CANONICAL


def test_payment_form_posts_every_contract_field_to_the_checkout():
    form = payment_form(a_checkout(), SETTINGS, ENDPOINTS, timestamp=1_768_472_130, nonce="n-7f3a9c")

    unsigned = {name: value for name, value in form.fields.items() if name != "signature"}
    assert (form.method, form.url) == ("POST", "https://checkout.m2t.example/pay")
    assert unsigned == {
        "merchant_id": "M2T-000042",
        "order_ref": "PAY-0001",
        "amount": "1250.50",
        "currency": "MAD",
        "method": "TASHILAT",
        "notify_url": "https://api.portnet.example/v1/callbacks/m2t",
        "return_url": RETURN_URL,
        "cancel_url": RETURN_URL,
        "lang": "ar",
        "customer_name": "Société Maritime",
        "customer_email": "compta@example.ma",
        "customer_phone": "",
        "timestamp": "1768472130",
        "nonce": "n-7f3a9c",
    }
    assert form.fields["signature"] == sign_fields(unsigned, SECRET)


@pytest.mark.parametrize("method", ["CARD", "TASHILAT", "DIRECT_DEBIT"])
def test_payment_form_is_signed_for_every_m2t_method(method):
    form = payment_form(a_checkout(method=method), SETTINGS, ENDPOINTS, timestamp=1_768_472_130, nonce="n-7f3a9c")

    assert verify_fields(form.fields, SECRET)


@pytest.mark.parametrize("method", ["FATOURATI", "card", ""])
def test_payment_form_refuses_a_method_m2t_does_not_take(method):
    with pytest.raises(ValueError, match="M2T takes"):
        payment_form(a_checkout(method=method), SETTINGS, ENDPOINTS, timestamp=1_768_472_130, nonce="n-7f3a9c")


def test_form_with_a_tampered_amount_fails_verification():
    form = payment_form(a_checkout(), SETTINGS, ENDPOINTS, timestamp=1_768_472_130, nonce="n-7f3a9c")

    assert not verify_fields(form.fields | {"amount": "1.00"}, SECRET)


def test_form_without_signature_fails_verification():
    assert not verify_fields({"amount": "1250.50"}, SECRET)


def test_valid_notification_is_parsed():
    notification = parse_notification(a_notification())

    assert (notification.event_id, notification.order_ref, notification.status) == ("evt-0001", "PAY-0001", "PAID")
    assert (notification.money, notification.currency) == (Money.parse("1250.50"), "MAD")
    assert (notification.transaction_id, notification.reference) == ("M2T-TX-9", "TSH-123456")


def test_notification_without_optional_fields_is_parsed():
    body = json.dumps(
        {"event_id": "e", "order_ref": "PAY-0001", "status": "FAILED", "amount": "0.00", "currency": "MAD"}
    ).encode()

    notification = parse_notification(body)

    assert (notification.transaction_id, notification.method, notification.reference) == (None, None, None)


def test_notification_fields_m2t_may_add_are_ignored():
    notification = parse_notification(a_notification(fee="2.50"))

    assert not hasattr(notification, "fee")


@pytest.mark.parametrize("body", [b"{not json", b"", b"[]", b'"PAID"', '{"event_id": "é"}'.encode("latin-1")], ids=repr)
def test_body_that_is_not_a_json_object_is_rejected(body):
    with pytest.raises(InvalidNotification):
        parse_notification(body)


@pytest.mark.parametrize("status", ["paid", "REFUNDED", "", None])
def test_notification_with_an_unknown_status_is_rejected(status):
    with pytest.raises(InvalidNotification):
        parse_notification(a_notification(status=status))


@pytest.mark.parametrize("amount", ["1250.5", "1250", "-1.00", "1,250.50", 1250.5, 125050, None])
def test_notification_with_an_amount_off_the_contract_is_rejected(amount):
    with pytest.raises(InvalidNotification):
        parse_notification(a_notification(amount=amount))


@pytest.mark.parametrize(
    "change",
    [{"event_id": ""}, {"event_id": "e" * 129}, {"order_ref": "PAY 0001"}, {"order_ref": "P" * 65}, {"currency": 504}],
    ids=repr,
)
def test_notification_with_a_malformed_field_is_rejected(change):
    with pytest.raises(InvalidNotification):
        parse_notification(a_notification(**change))


def test_notification_signed_with_the_m2t_secret_is_verified():
    body = a_notification()

    assert verify_notification(sign_body(SECRET, body, 1_768_472_130), body, SECRET, now=1_768_472_150)


def test_notification_signed_with_another_secret_is_refused():
    body = a_notification()

    assert not verify_notification(sign_body(b"other", body, 1_768_472_130), body, SECRET, now=1_768_472_150)
