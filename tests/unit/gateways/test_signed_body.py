"""What the adapters share: the `t=<unix>,v1=<hex>` signed-body header (M2T, Fatourati) and the service's addresses."""

import pytest

from epay.gateways.common import Endpoints, sign_body, verify_signed_body

SECRET = b"whsec-test"
BODY = b'{"event_id":"evt-1","order_ref":"PAY-0001","status":"PAID","amount":"1250.50","currency":"MAD"}'
SIGNED_AT = 1_768_472_130
# Computed once with hmac directly over b"1768472130." + BODY.
MAC = "db05570821e8bc6d0dd526bf9e481ca55e667a7e5a4c76457824bb70fa0fab46"


def a_header(timestamp=SIGNED_AT, mac=MAC):
    return f"t={timestamp},v1={mac}"


def test_sign_body_gives_the_fixed_vector():
    assert sign_body(SECRET, BODY, SIGNED_AT) == f"t=1768472130,v1={MAC}"


def test_valid_signature_is_accepted():
    assert verify_signed_body(a_header(), BODY, SECRET, now=SIGNED_AT)


def test_signature_made_with_another_secret_is_rejected():
    header = sign_body(b"another-secret", BODY, SIGNED_AT)

    assert not verify_signed_body(header, BODY, SECRET, now=SIGNED_AT)


def test_tampered_body_is_rejected():
    tampered = BODY.replace(b"1250.50", b"1.00")

    assert not verify_signed_body(a_header(), tampered, SECRET, now=SIGNED_AT)


def test_signature_timestamp_is_signed_too():
    assert not verify_signed_body(a_header(timestamp=SIGNED_AT + 1), BODY, SECRET, now=SIGNED_AT)


def test_stale_signature_is_rejected():
    header = sign_body(SECRET, BODY, SIGNED_AT)

    assert not verify_signed_body(header, BODY, SECRET, now=SIGNED_AT + 301)


def test_signature_from_the_future_is_rejected():
    header = sign_body(SECRET, BODY, SIGNED_AT)

    assert not verify_signed_body(header, BODY, SECRET, now=SIGNED_AT - 301)


@pytest.mark.parametrize("skew", [300, -300])
def test_signature_exactly_at_the_tolerance_is_accepted(skew):
    header = sign_body(SECRET, BODY, SIGNED_AT)

    assert verify_signed_body(header, BODY, SECRET, now=SIGNED_AT + skew)


def test_tolerance_can_be_narrowed():
    header = sign_body(SECRET, BODY, SIGNED_AT)

    assert not verify_signed_body(header, BODY, SECRET, now=SIGNED_AT + 61, tolerance=60)


def test_extra_entries_and_whitespace_are_tolerated():
    header = f" t = {SIGNED_AT} , v0=legacy, v1 = {MAC} ,"

    assert verify_signed_body(header, BODY, SECRET, now=SIGNED_AT)


def test_any_of_several_v1_signatures_may_match():
    header = f"t={SIGNED_AT},v1={'0' * 64},v1={MAC}"

    assert verify_signed_body(header, BODY, SECRET, now=SIGNED_AT)


def test_uppercase_hex_is_not_the_contract_and_is_rejected():
    assert not verify_signed_body(a_header(mac=MAC.upper()), BODY, SECRET, now=SIGNED_AT)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="absent"),
        pytest.param("", id="empty"),
        pytest.param(f"v1={MAC}", id="missing-t"),
        pytest.param(f"t=,v1={MAC}", id="blank-t"),
        pytest.param(f"t=abc,v1={MAC}", id="non-integer-t"),
        pytest.param(f"t=1768472130.0,v1={MAC}", id="decimal-t"),
        pytest.param(f"t=+1768472130,v1={MAC}", id="signed-t"),
        pytest.param(f"t=١٧٦٨٤٧٢١٣٠,v1={MAC}", id="non-ascii-digits-t"),
        pytest.param(f"t={SIGNED_AT}", id="missing-v1"),
        pytest.param(f"t={SIGNED_AT},v1=", id="blank-v1"),
        pytest.param(f"t={SIGNED_AT},t={SIGNED_AT},v1={MAC}", id="two-t"),
        pytest.param(f"t={SIGNED_AT},v1={MAC},garbage", id="entry-without-equals"),
        pytest.param(f"t={SIGNED_AT};v1={MAC}", id="wrong-separator"),
        pytest.param(f"t={SIGNED_AT},v1={MAC[:-1]}é", id="non-ascii-v1"),
    ],
)
def test_garbled_header_is_rejected(header):
    assert not verify_signed_body(header, BODY, SECRET, now=SIGNED_AT)


def test_return_url_is_the_return_route_of_the_payment():
    endpoints = Endpoints(public_api_url="https://api.portnet.example/", frontend_url="https://portal.portnet.example")

    assert endpoints.return_url("PAY-0001") == "https://api.portnet.example/v1/payments/PAY-0001/return"


def test_callback_url_is_the_gateway_callback_route():
    endpoints = Endpoints(public_api_url="https://api.portnet.example", frontend_url="https://portal.portnet.example")

    assert endpoints.callback_url("fatourati/inquiry") == "https://api.portnet.example/v1/callbacks/fatourati/inquiry"
